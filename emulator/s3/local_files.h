#pragma once
// The local side of downloads: temporary names next to the destination, and the directories a
// batch created (so a failed batch can remove them again).

#include <filesystem>
#include <mutex>
#include <vector>

namespace smp::s3 {

// "<dir>/.<name>.smp-part-<random>": same directory (so rename is atomic), hidden, unique.
std::filesystem::path temp_path_for(const std::filesystem::path& destination);

// Opens (creates, exclusive) a temp file for writing and reading back; throws S3Error.
int open_temp_file(const std::filesystem::path& path);

// Records every directory it had to create; remove_created_if_empty() undoes them deepest-first.
class CreatedDirectories {
 public:
  void ensure(const std::filesystem::path& directory);  // throws S3Error
  void remove_created_if_empty();

 private:
  std::mutex mutex_;
  std::vector<std::filesystem::path> created_;
};

}  // namespace smp::s3
