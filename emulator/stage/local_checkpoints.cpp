#include "emulator/stage/local_checkpoints.h"

#include <set>

#include "emulator/stage/channels.h"

namespace smplocal {

namespace fs = std::filesystem;

LocalCheckpoints::LocalCheckpoints(fs::path location, std::vector<fs::path> host_dirs)
    : location_(std::move(location)), hosts_(std::move(host_dirs)) {}

size_t LocalCheckpoints::copy_in() {
  fs::create_directories(location_);
  initial_ = list_files_sorted(location_);
  for (const auto& host : hosts_)
    for (const auto& rel : initial_) {
      fs::create_directories((host / rel).parent_path());
      fs::copy_file(location_ / rel, host / rel, fs::copy_options::overwrite_existing);
    }
  return initial_.size();
}

std::string LocalCheckpoints::sync_back() {
  std::set<std::string> present;
  size_t copied = 0, deleted = 0;
  for (const auto& host : hosts_) {
    if (!fs::is_directory(host)) continue;
    for (const auto& rel : list_files_sorted(host)) {
      present.insert(rel);
      fs::create_directories((location_ / rel).parent_path());
      fs::copy_file(host / rel, location_ / rel, fs::copy_options::overwrite_existing);
      ++copied;
    }
  }
  for (const auto& rel : initial_)
    if (!present.count(rel) && fs::remove(location_ / rel)) ++deleted;
  return "checkpoints " + location_.string() + ": " + std::to_string(copied) + " files copied back, " +
         std::to_string(deleted) + " deleted";
}

}  // namespace smplocal
