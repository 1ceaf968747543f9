#include "tests/emulator/archive/test_support.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace smplocal::archive::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "smp-archive-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests make read-only directories; give them back write permission so they can be removed.
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != decltype(it)();
       it.increment(ec)) {
    if (it->symlink_status(ec).type() == fs::file_type::directory) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(path_, ec);
}

RunResult run(const std::vector<std::string>& argv, const fs::path& cwd) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  RunResult result;
  if (rc != 0) {
    ::close(pipefd[0]);
    result.output = "cannot spawn " + argv[0];
    return result;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string sample_bytes(std::size_t n, std::uint32_t seed) {
  static const char* words[] = {"loss", "epoch", "weight", "0.0123", "gradient", "layer",
                                "\n",   " ",     "{\"lr\":", "3e-4}", "\x01\xff", "step"};
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(n + 16);
  while (out.size() < n) {
    if (rng() % 4 == 0) {
      out.push_back(static_cast<char>(rng()));  // some entropy so blocks differ
    } else {
      out += words[rng() % std::size(words)];
    }
  }
  out.resize(n);
  return out;
}

void write_raw_tar_gz(const fs::path& out, const std::vector<RawMember>& members) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a));
  }
  for (const RawMember& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, m.mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (!m.hardlink.empty()) {
      archive_entry_copy_hardlink(e, m.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else if (m.type == AE_IFLNK) {
      archive_entry_copy_symlink(e, m.symlink.c_str());
    } else if (m.type == AE_IFREG) {
      archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      throw std::runtime_error(std::string("raw tar: ") + archive_error_string(a));
    }
    if (m.type == AE_IFREG && m.hardlink.empty() && !m.data.empty()) {
      archive_write_data(a, m.data.data(), m.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::vector<std::string> describe_tree(const fs::path& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != decltype(it)(); ++it) {
    const std::string rel = it->path().lexically_relative(root).generic_string();
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) throw std::runtime_error("lstat " + rel);
    std::ostringstream d;
    d << rel << ' ';
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) {
      d << "l -> " << fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      d << "d " << mode;
    } else {
      const std::string bytes = read_file(it->path());
      d << "f " << mode << ' ' << bytes.size() << ' ' << std::hash<std::string>{}(bytes);
    }
    out.push_back(d.str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace smplocal::archive::testing
