// Atomic artifact writing (temp file + rename) for timeline.json / timeline.svg.
#include "emulator/timeline/output_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "emulator/timeline/rank_trace.h"

namespace smplocal::timeline {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& out, std::string_view content) {
  std::error_code ec;
  if (out.has_parent_path()) {
    fs::create_directories(out.parent_path(), ec);
    if (ec)
      throw TimelineError(out.parent_path().string() + ": cannot create the output directory (" +
                          ec.message() +
                          ") — check permissions or choose another output directory");
  }
  fs::path tmp = out;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (f) f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f) {
      const std::string why = std::strerror(errno);
      fs::remove(tmp, ec);
      throw TimelineError(out.string() + ": cannot write (" + why +
                          ") — check permissions and free disk space");
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw TimelineError(out.string() + ": cannot rename the temp file into place (" + ec.message() +
                        ")");
  }
}

}  // namespace smplocal::timeline
