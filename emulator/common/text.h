#pragma once
// Text that ends up in JSON documents: rank output, failure files and paths are arbitrary bytes,
// while JSON (and nlohmann's dump, which throws on them) needs valid UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

#include "libsmp/core/json.h"

namespace smplocal {

// The first `max_chars` characters of `text` as valid UTF-8: invalid or cut sequences become
// U+FFFD, and no character is split.
std::string utf8_prefix(std::string_view text, std::size_t max_chars);

// JSON text of `j`, with any invalid UTF-8 in its strings replaced by U+FFFD instead of throwing.
std::string json_text(const smp::core::Json& j, int indent = 2);

}  // namespace smplocal
