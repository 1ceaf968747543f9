#include "emulator/s3/local_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "emulator/s3/error.h"

namespace fs = std::filesystem;

namespace smp::s3 {

fs::path temp_path_for(const fs::path& destination) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return destination.parent_path() / ("." + destination.filename().string() + ".smp-part-" + suffix);
}

int open_temp_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw S3Error("cannot create " + path.string() + ": " + std::strerror(errno) +
                      ". Check that the destination directory is writable and has space",
                  0, "LocalWriteFailed");
  return fd;
}

void CreatedDirectories::ensure(const fs::path& directory) {
  if (directory.empty()) return;
  std::lock_guard lock(mutex_);
  std::error_code ec;
  if (fs::is_directory(directory, ec)) return;
  // Walk up to the first existing ancestor, then create downwards, remembering each one.
  std::vector<fs::path> missing;
  for (fs::path p = directory; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (fs::create_directory(*it, ec)) {
      created_.push_back(*it);
    } else if (ec || !fs::is_directory(*it)) {
      throw S3Error("cannot create the directory " + it->string() + ": " +
                        (ec ? ec.message() : std::string("a file of that name exists")) +
                        ". Check the destination path and its permissions",
                    0, "LocalWriteFailed");
    }
  }
}

void CreatedDirectories::remove_created_if_empty() {
  std::lock_guard lock(mutex_);
  std::sort(created_.begin(), created_.end(),
            [](const fs::path& a, const fs::path& b) { return a.native().size() > b.native().size(); });
  for (const auto& d : created_) {
    std::error_code ec;
    fs::remove(d, ec);  // only succeeds when empty
  }
  created_.clear();
}

}  // namespace smp::s3
