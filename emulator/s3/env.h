#pragma once
// EnvLookup: the one door through which the S3 client reads environment variables, so the
// credential/endpoint chains are tested with a map instead of the process environment.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace smp::s3 {

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment; an empty value counts as unset, as in botocore.
EnvLookup process_environment();
EnvLookup map_environment(std::map<std::string, std::string> values);

}  // namespace smp::s3
