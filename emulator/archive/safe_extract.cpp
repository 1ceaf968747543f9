#include "emulator/archive/safe_extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/libarchive_api.h"
#include "emulator/archive/member_checker.h"
#include "emulator/archive/tree_merge.h"
#include "emulator/archive/unique_fd.h"
#include "emulator/archive/utf8_locale.h"

namespace smplocal::archive {
namespace fs = std::filesystem;
namespace {

// The temporary tree the members go to first; removed unless released (after it was moved into
// place). It lives inside `where`: dest's parent for a new dest, dest itself when it exists, so
// the final renames never cross file systems even when dest is a mount point.
class StagingDir {
 public:
  StagingDir(const fs::path& where, const fs::path& dest) {
    std::string pattern = (where / ("." + dest.filename().string() + ".extract-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw ArchiveError(errno_message("cannot create a temporary directory next to '" +
                                           dest.string() + "' (is its parent writable?)",
                                       errno));
    }
    path_ = pattern;
  }
  ~StagingDir() {
    if (path_.empty()) return;
    std::error_code ec;
    // Read-only directories from the archive would stop remove_all: make them writable first.
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != decltype(it)();
         it.increment(ec)) {
      if (it->symlink_status(ec).type() == fs::file_type::directory) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  if (path.empty()) return parts;
  for (std::size_t i = 0; i <= path.size();) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// Opens root/parts[0..count) one component at a time without following symlinks, creating
// missing directories when asked; nothing outside root can be reached this way.
UniqueFd open_dir(int root, const std::vector<std::string>& parts, std::size_t count, bool create,
                  const std::string& member) {
  UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!cur) throw ArchiveError(errno_message("cannot extract '" + member + "'", errno));
  for (std::size_t i = 0; i < count; ++i) {
    const char* name = parts[i].c_str();
    int fd = ::openat(cur.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), name, 0755) != 0 && errno != EEXIST) {
        throw ArchiveError(errno_message("cannot create directory for member '" + member + "'",
                                         errno));
      }
      fd = ::openat(cur.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      throw ArchiveError(errno_message(
          "refusing to extract member '" + member + "': '" + parts[i] + "' is not a directory",
          errno));
    }
    cur = UniqueFd(fd);
  }
  return cur;
}

void pwrite_all(int fd, const char* buf, std::size_t size, off_t offset, const std::string& member) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, buf, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ArchiveError(errno_message("cannot write member '" + member + "'", errno));
    buf += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
}

// Mode bits without setuid/setgid/sticky: an archive must not hand out privileges.
mode_t safe_mode(struct archive_entry* ae) { return libarchive().archive_entry_perm(ae) & 0777; }

// A directory member's attributes, applied once the whole tree is in place.
struct DirAttrs {
  std::string path;
  mode_t mode;
  time_t mtime;
};

// One extraction run: reads members, checks them, writes them under the staging root.
class Extractor {
 public:
  Extractor(const fs::path& archive, int root)
      : la_(libarchive()), archive_path_(archive), root_(root) {
    a_.reset(la_.archive_read_new());
    if (!a_) throw ArchiveError("libarchive could not start a tar reader (out of memory?)");
    la_.archive_read_support_format_tar(a_.get());
    la_.archive_read_support_filter_gzip(a_.get());
    if (la_.archive_read_open_filename(a_.get(), archive.c_str(), 1 << 20) != ARCHIVE_OK) {
      throw ArchiveError("cannot open archive '" + archive.string() + "': " + error());
    }
  }

  void run() {
    struct archive_entry* ae;
    for (;;) {
      int r = la_.archive_read_next_header(a_.get(), &ae);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) corrupt("reading the next member header");
      extract(ae);
    }
    checker_.check_symlinks();
    for (const auto& [path, target] : links_) {
      const auto parts = split(path);
      UniqueFd parent = open_dir(root_, parts, parts.size() - 1, true, path);
      if (::symlinkat(target.c_str(), parent.get(), parts.back().c_str()) != 0) {
        throw ArchiveError(errno_message("cannot create symlink '" + path + "'", errno));
      }
    }
  }

  // Directory permissions and times, applied under `root` after the tree is in place, deepest
  // first, so read-only directories never block their own contents and renames do not bump them.
  void apply_directory_attributes(int root) {
    std::stable_sort(dirs_.begin(), dirs_.end(), [](const DirAttrs& a, const DirAttrs& b) {
      return std::count(a.path.begin(), a.path.end(), '/') >
             std::count(b.path.begin(), b.path.end(), '/');
    });
    for (const DirAttrs& d : dirs_) {
      const auto parts = split(d.path);
      UniqueFd fd = open_dir(root, parts, parts.size(), false, d.path);
      const struct timespec times[2] = {{0, UTIME_NOW}, {d.mtime, 0}};
      if (::fchmod(fd.get(), d.mode) != 0 || ::futimens(fd.get(), times) != 0) {
        throw ArchiveError(errno_message("cannot set attributes of '" + d.path + "'", errno));
      }
    }
  }

 private:
  std::string error() {
    const char* msg = la_.archive_error_string(a_.get());
    return msg ? msg : "unknown libarchive error";
  }
  [[noreturn]] void corrupt(const std::string& what) {
    throw ArchiveError("'" + archive_path_.string() + "' is not a readable tar.gz (" + what +
                       ": " + error() + "); is it truncated or of another format?");
  }

  void extract(struct archive_entry* ae) {
    const char* raw = la_.archive_entry_pathname(ae);
    const std::string name = raw ? raw : "";
    const char* hard = la_.archive_entry_hardlink(ae);
    const char* soft = la_.archive_entry_symlink(ae);
    MemberKind kind = MemberKind::kOther;
    std::string kind_name, link;
    if (hard != nullptr) {
      kind = MemberKind::kHardlink;
      link = hard;
    } else {
      switch (la_.archive_entry_filetype(ae)) {
        case AE_IFREG: kind = MemberKind::kFile; break;
        case AE_IFDIR: kind = MemberKind::kDirectory; break;
        case AE_IFLNK: kind = MemberKind::kSymlink; link = soft ? soft : ""; break;
        case AE_IFCHR: kind_name = "character device"; break;
        case AE_IFBLK: kind_name = "block device"; break;
        case AE_IFIFO: kind_name = "FIFO"; break;
        case AE_IFSOCK: kind_name = "socket"; break;
        default: kind_name = "member of unknown type"; break;
      }
    }
    const std::string path = checker_.admit(name, kind, link, kind_name);
    if (path.empty()) return;  // "./" is dest itself, whose attributes stay as they are
    const auto parts = split(path);
    switch (kind) {
      case MemberKind::kDirectory: {
        open_dir(root_, parts, parts.size(), true, name);
        dirs_.push_back({path, safe_mode(ae), la_.archive_entry_mtime(ae)});
        break;
      }
      case MemberKind::kFile: write_file(ae, name, parts); break;
      case MemberKind::kHardlink: {
        UniqueFd parent = open_dir(root_, parts, parts.size() - 1, true, name);
        std::string rel;  // the target, normalized like every member name
        for (const auto& p : MemberChecker::split_relative(link, name, "its hard-link target")) {
          rel += (rel.empty() ? "" : "/") + p;
        }
        ::unlinkat(parent.get(), parts.back().c_str(), 0);  // a later member wins, as in tar
        if (::linkat(root_, rel.c_str(), parent.get(), parts.back().c_str(), 0) != 0) {
          throw ArchiveError(errno_message("cannot create hard link '" + name + "'", errno));
        }
        break;
      }
      case MemberKind::kSymlink: links_[path] = link; break;  // created after every check
      case MemberKind::kOther: break;                           // refused by the checker
    }
  }

  void write_file(struct archive_entry* ae, const std::string& name,
                  const std::vector<std::string>& parts) {
    UniqueFd parent = open_dir(root_, parts, parts.size() - 1, true, name);
    const char* leaf = parts.back().c_str();
    ::unlinkat(parent.get(), leaf, 0);  // a later member of the same name wins, as in tar
    UniqueFd fd(::openat(parent.get(), leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600));
    if (!fd) throw ArchiveError(errno_message("cannot create member '" + name + "'", errno));
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = la_.archive_read_data_block(a_.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
      pwrite_all(fd.get(), static_cast<const char*>(buf), size, static_cast<off_t>(offset), name);
    }
    if (r != ARCHIVE_EOF) corrupt("reading the data of '" + name + "'");
    // Sparse members may end in a hole that no data block covers.
    if (la_.archive_entry_size_is_set(ae) &&
        ::ftruncate(fd.get(), la_.archive_entry_size(ae)) != 0) {
      throw ArchiveError(errno_message("cannot write member '" + name + "'", errno));
    }
    const struct timespec times[2] = {{0, UTIME_NOW}, {la_.archive_entry_mtime(ae), 0}};
    if (::fchmod(fd.get(), safe_mode(ae)) != 0 || ::futimens(fd.get(), times) != 0 ||
        fd.reset() != 0) {
      throw ArchiveError(errno_message("cannot finish member '" + name + "'", errno));
    }
  }

  struct ReadFree {
    void operator()(struct archive* a) const { libarchive().archive_read_free(a); }
  };
  const LibArchive& la_;
  std::unique_ptr<struct archive, ReadFree> a_;
  fs::path archive_path_;
  int root_;
  MemberChecker checker_;
  std::vector<DirAttrs> dirs_;
  std::map<std::string, std::string> links_;  // path → target; the last member of a name wins
};

}  // namespace

void extract_tar_gz_safely(const fs::path& archive, const fs::path& dest_in) {
  fs::path dest = fs::absolute(dest_in).lexically_normal();
  if (!dest.has_filename()) dest = dest.parent_path();
  std::error_code ec;
  const bool exists = fs::exists(dest, ec);
  if (exists && !fs::is_directory(dest, ec)) {
    throw ArchiveError("cannot extract into '" + dest.string() +
                       "': it exists and is not a directory; remove it or choose another path");
  }
  fs::create_directories(dest.parent_path(), ec);
  if (ec) {
    throw ArchiveError("cannot create '" + dest.parent_path().string() + "': " + ec.message());
  }
  ScopedUtf8Locale utf8;  // names come back as the UTF-8 they were stored as
  StagingDir staging(exists ? dest : dest.parent_path(), dest);
  UniqueFd root(::open(staging.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw ArchiveError(errno_message("cannot open '" + staging.path().string() + "'", errno));
  Extractor extractor(archive, root.get());
  extractor.run();

  // Every member passed: put the tree in place.
  if (!exists && ::fchmod(root.get(), 0755) == 0 &&
      ::rename(staging.path().c_str(), dest.c_str()) == 0) {
    staging.release();
  } else {
    merge_tree(staging.path(), dest);  // dest existed (or appeared meanwhile): move by renames
  }
  // (StagingDir removes the emptied staging tree when it goes out of scope.)
  UniqueFd final_root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!final_root) throw ArchiveError(errno_message("cannot open '" + dest.string() + "'", errno));
  extractor.apply_directory_attributes(final_root.get());
}

}  // namespace smplocal::archive
