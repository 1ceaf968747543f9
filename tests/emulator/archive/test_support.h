#pragma once
// Test support for the archive library: temporary directories, small file helpers, spawning the
// reference tools (GNU tar, gzip) by argv, and hand-built archives for hostile-input tests.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace smplocal::archive::testing {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// Result of a spawned program: exit status (128+signal when killed) and stdout+stderr.
struct RunResult {
  int status = -1;
  std::string output;
};
// Runs argv[0] (searched in PATH) with argv, no shell; cwd empty = ours. Blocks until it exits.
RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});

void write_file(const std::filesystem::path& p, const std::string& bytes);
std::string read_file(const std::filesystem::path& p);
// n bytes of text-like, compressible data from a seed (same seed → same bytes).
std::string sample_bytes(std::size_t n, std::uint32_t seed);

// One member of a hand-built tar: any type, any name, any link target — also the hostile ones
// that our own writer refuses to produce.
struct RawMember {
  std::string name;
  unsigned type;            // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO, ...
  std::string data;         // contents for AE_IFREG
  std::string symlink;      // target for AE_IFLNK
  std::string hardlink;     // when set: a hard link to this member name
  unsigned mode = 0644;
};
inline RawMember raw_file(std::string name, std::string data, unsigned mode = 0644) {
  return {std::move(name), 0100000 /*AE_IFREG*/, std::move(data), "", "", mode};
}
inline RawMember raw_dir(std::string name, unsigned mode = 0755) {
  return {std::move(name), 0040000 /*AE_IFDIR*/, "", "", "", mode};
}
inline RawMember raw_symlink(std::string name, std::string target) {
  return {std::move(name), 0120000 /*AE_IFLNK*/, "", std::move(target), "", 0777};
}
inline RawMember raw_hardlink(std::string name, std::string target) {
  return {std::move(name), 0100000 /*AE_IFREG*/, "", "", std::move(target), 0644};
}
inline RawMember raw_special(std::string name, unsigned type) {
  return {std::move(name), type, "", "", "", 0644};
}
// Writes members as a gzip-compressed pax tar with libarchive (no checks at all).
void write_raw_tar_gz(const std::filesystem::path& out, const std::vector<RawMember>& members);

// Every path under root (relative, sorted) with a description: "f 0644 <size> <hash>", "d 0755",
// "l -> target" (files as size and hash) — for comparing two trees exactly.
std::vector<std::string> describe_tree(const std::filesystem::path& root);

}  // namespace smplocal::archive::testing
