#pragma once
// Atomic text-file output for the timeline's artifacts: written to a temp name then renamed, so a
// reader (or a crashed smp-local) never sees half a file.

#include <filesystem>
#include <string_view>

namespace smplocal::timeline {

// Creates the parent directory. Throws TimelineError naming the path when anything fails.
void write_file_atomically(const std::filesystem::path& out, std::string_view content);

}  // namespace smplocal::timeline
