#include "emulator/archive/tree_merge.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/unique_fd.h"

namespace smplocal::archive {
namespace fs = std::filesystem;
namespace {

// Names in a directory (not "." or ".."). Reads through a fresh descriptor: a dup() would share
// the read position, and a second listing of the same directory would come back empty.
std::vector<std::string> list_dir(int dir, const std::string& where) {
  int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (d == nullptr) {
    if (fd >= 0) ::close(fd);
    throw ArchiveError(errno_message("cannot list '" + where + "'", errno));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

UniqueFd open_subdir(int dir, const std::string& name, const std::string& where) {
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw ArchiveError(errno_message("cannot open '" + where + "'", errno));
  return fd;
}

// lstat of dir/name; false when it does not exist.
bool lstat_at(int dir, const std::string& name, struct stat& st, const std::string& where) {
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  throw ArchiveError(errno_message("cannot inspect '" + where + "'", errno));
}

void check(int src, int dst, const fs::path& dst_path) {
  for (const std::string& name : list_dir(src, dst_path.string())) {
    const fs::path where = dst_path / name;
    struct stat s, d;
    if (!lstat_at(dst, name, d, where.string())) continue;
    lstat_at(src, name, s, name);
    if (!S_ISDIR(d.st_mode)) continue;  // a file or symlink in dest is simply replaced
    if (!S_ISDIR(s.st_mode)) {
      throw ArchiveError("cannot extract a file to '" + where.string() +
                         "': a directory of that name already exists there; remove it or extract "
                         "into an empty directory");
    }
    UniqueFd s_sub = open_subdir(src, name, name), d_sub = open_subdir(dst, name, where.string());
    check(s_sub.get(), d_sub.get(), where);
  }
}

void move(int src, int dst, const fs::path& dst_path) {
  for (const std::string& name : list_dir(src, dst_path.string())) {
    const fs::path where = dst_path / name;
    struct stat s, d;
    if (lstat_at(dst, name, d, where.string())) {
      lstat_at(src, name, s, name);
      if (S_ISDIR(d.st_mode) && S_ISDIR(s.st_mode)) {
        UniqueFd s_sub = open_subdir(src, name, name), d_sub = open_subdir(dst, name, where.string());
        move(s_sub.get(), d_sub.get(), where);
        continue;
      }
      // rename() cannot put a directory over a file or symlink: remove that first.
      if (S_ISDIR(s.st_mode) && ::unlinkat(dst, name.c_str(), 0) != 0) {
        throw ArchiveError(errno_message("cannot replace '" + where.string() + "'", errno));
      }
    }
    if (::renameat(src, name.c_str(), dst, name.c_str()) != 0) {
      throw ArchiveError(errno_message("cannot move extracted '" + name + "' to '" +
                                           where.string() + "'",
                                       errno));
    }
  }
}

}  // namespace

void merge_tree(const fs::path& staging, const fs::path& dest) {
  UniqueFd src(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src) throw ArchiveError(errno_message("cannot open '" + staging.string() + "'", errno));
  UniqueFd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst) throw ArchiveError(errno_message("cannot open '" + dest.string() + "'", errno));
  check(src.get(), dst.get(), dest);
  move(src.get(), dst.get(), dest);
}

}  // namespace smplocal::archive
