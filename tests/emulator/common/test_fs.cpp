// File-system helpers: the Orlov top-directory hint.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <string>

#include "emulator/common/fs.h"

using namespace smplocal;

namespace {
// The inode flags of `dir`, or -1 where the file system has none (tmpfs, overlayfs, ...).
int inode_flags(const fs::path& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int flags = 0;
  int rc = ioctl(fd, FS_IOC_GETFLAGS, &flags);
  close(fd);
  return rc == 0 ? flags : -1;
}
}  // namespace

TEST_CASE("hint_top_directory marks a directory +T on ext2/3/4", "[common][unit]") {
  // Next to the build tree: the temp dir may be a tmpfs, which has no such flag.
  fs::path dir = fs::path(SMP_BINARY_DIR) / ("topdir-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  struct statfs st {};
  const bool ext = statfs(dir.c_str(), &st) == 0 && st.f_type == 0xEF53;  // EXT2/3/4_SUPER_MAGIC
  const int before = inode_flags(dir);
  hint_top_directory(dir);
  const int after = inode_flags(dir);
  hint_top_directory(dir);  // twice: no change, no error
  const int again = inode_flags(dir);
  fs::remove_all(dir);
  if (!ext) SKIP("the build tree is not on ext2/3/4, where the hint applies");
  REQUIRE(before >= 0);
  CHECK_FALSE(before & FS_TOPDIR_FL);
  CHECK(after == (before | FS_TOPDIR_FL));  // only that flag
  CHECK(again == after);
}

TEST_CASE("hint_top_directory ignores paths it cannot open", "[common][unit]") {
  hint_top_directory("/nonexistent/smp-local/dir");  // noexcept: nothing to check but survival
  SUCCEED();
}
