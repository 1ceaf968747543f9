#pragma once
// Checkpoints whose "S3" location is a local directory: its files are copied into every host's
// checkpoint directory at the start and the hosts' files mirrored back at the end (writes
// copied, deletions of files that came from the directory mirrored). S3 locations get the
// continuous sync of smp::s3::CheckpointSync instead.

#include <filesystem>
#include <string>
#include <vector>

namespace smplocal {

class LocalCheckpoints {
 public:
  LocalCheckpoints(std::filesystem::path location, std::vector<std::filesystem::path> host_dirs);
  // Copies the location's files into every host dir; returns how many files each host got.
  size_t copy_in();
  // Mirrors the hosts' files back (a later host wins on a name clash); returns a summary line.
  std::string sync_back();

 private:
  std::filesystem::path location_;
  std::vector<std::filesystem::path> hosts_;
  std::vector<std::string> initial_;  // relative paths present at the start
};

}  // namespace smplocal
