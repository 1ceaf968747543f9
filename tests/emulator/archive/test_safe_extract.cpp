// extract_tar_gz_safely: exact extraction of normal archives; hostile ones refused, nothing left.
#include "emulator/archive/safe_extract.h"

#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <filesystem>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/tar_gz_writer.h"
#include "tests/emulator/archive/test_support.h"

using namespace smplocal::archive;
using namespace smplocal::archive::testing;
namespace fs = std::filesystem;

namespace {

void make_source_dir(const fs::path& root) {
  fs::create_directories(root / "pkg" / "empty");
  write_file(root / "train.py", "import sys\nprint(sys.argv)\n");
  write_file(root / "pkg" / "__init__.py", "");
  write_file(root / "pkg" / "data.bin", sample_bytes(300000, 5));
  write_file(root / "name with space \xc3\xa9.txt", "x");
  write_file(root / "run.sh", "#!/bin/sh\n");
  fs::permissions(root / "run.sh", fs::perms(0755));
  fs::create_symlink("../train.py", root / "pkg" / "entry.py");
}

// The parent of dest holds only what the test put there: no staging leftovers.
std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("an archive from write_tar_gz extracts exactly", "[archive][extract]") {
  TempDir dir;
  make_source_dir(dir / "src");
  write_tar_gz(dir / "sourcedir.tar.gz", collect_tree(dir / "src"));
  extract_tar_gz_safely(dir / "sourcedir.tar.gz", dir / "out" / "code");
  CHECK(describe_tree(dir / "out" / "code") == describe_tree(dir / "src"));
  CHECK(entries_of(dir / "out") == std::vector<std::string>{"code"});
  CHECK((fs::status(dir / "out" / "code").permissions() & fs::perms::all) == fs::perms(0755));
}

TEST_CASE("an archive from GNU tar with ./ names extracts exactly", "[archive][extract]") {
  TempDir dir;
  make_source_dir(dir / "src");
  fs::create_hard_link(dir / "src" / "train.py", dir / "src" / "pkg" / "train_link.py");
  REQUIRE(run({"tar", "-czf", (dir / "s.tar.gz").string(), "-C", (dir / "src").string(), "."})
              .status == 0);
  extract_tar_gz_safely(dir / "s.tar.gz", dir / "code");
  CHECK(describe_tree(dir / "code") == describe_tree(dir / "src"));
  CHECK(fs::hard_link_count(dir / "code" / "pkg" / "train_link.py") == 2);  // kept as a link
}

TEST_CASE("extraction merges into an existing directory", "[archive][extract]") {
  TempDir dir;
  make_source_dir(dir / "src");
  write_tar_gz(dir / "s.tar.gz", collect_tree(dir / "src"));
  fs::create_directories(dir / "code" / "pkg");
  write_file(dir / "code" / "keep.txt", "mine");
  write_file(dir / "code" / "train.py", "old");
  extract_tar_gz_safely(dir / "s.tar.gz", dir / "code");
  CHECK(read_file(dir / "code" / "keep.txt") == "mine");
  CHECK(read_file(dir / "code" / "train.py") == read_file(dir / "src" / "train.py"));
  CHECK(read_file(dir / "code" / "pkg" / "data.bin") == read_file(dir / "src" / "pkg" / "data.bin"));
  CHECK(entries_of(dir.path()) == std::vector<std::string>{"code", "s.tar.gz", "src"});
  CHECK(entries_of(dir / "code") ==
        std::vector<std::string>{"keep.txt", "name with space \xc3\xa9.txt", "pkg", "run.sh",
                                 "train.py"});  // no staging directory left inside
}

TEST_CASE("setuid bits are dropped, modes and read-only dirs kept", "[archive][extract]") {
  TempDir dir;
  write_raw_tar_gz(dir / "a.tar.gz", {raw_dir("ro", 0555), raw_file("ro/f", "x"),
                                      raw_file("suid", "#!/bin/sh\n", 04755)});
  extract_tar_gz_safely(dir / "a.tar.gz", dir / "x");
  CHECK((fs::status(dir / "x" / "suid").permissions() & fs::perms::mask) == fs::perms(0755));
  CHECK((fs::status(dir / "x" / "ro").permissions() & fs::perms::mask) == fs::perms(0555));
  CHECK(read_file(dir / "x" / "ro" / "f") == "x");
}

TEST_CASE("hostile archives are refused, naming the member, leaving nothing", "[archive][extract]") {
  struct Case {
    const char* what;
    std::vector<RawMember> members;
    std::string named;
  };
  const std::vector<Case> cases = {
      {"parent escape", {raw_file("ok", "1"), raw_file("../x", "x")}, "../x"},
      {"absolute", {raw_file("ok", "1"), raw_file("/etc/x", "x")}, "/etc/x"},
      {"nested escape", {raw_file("a/../../x", "x")}, "a/../../x"},
      {"file through symlink to /etc",
       {raw_symlink("etc", "/etc"), raw_file("etc/smp-local-pwned", "x")}, "etc"},
      {"file through inside symlink", {raw_symlink("l", "d"), raw_file("l/x", "x")}, "l/x"},
      {"relative symlink out", {raw_file("ok", "1"), raw_symlink("a/l", "../../x")}, "a/l"},
      {"symlink chain out",
       {raw_symlink("t", "p/q/s/../.."), raw_symlink("p/q/s", "../.."), raw_file("f", "1")}, "t"},
      {"hardlink outside", {raw_hardlink("h", "/etc/passwd")}, "h"},
      {"hardlink up", {raw_hardlink("h", "../outside")}, "h"},
      {"character device", {raw_file("ok", "1"), raw_special("dev/null2", AE_IFCHR)}, "dev/null2"},
      {"block device", {raw_special("sda", AE_IFBLK)}, "sda"},
      {"fifo", {raw_file("ok", "1"), raw_special("pipe", AE_IFIFO)}, "pipe"},
  };
  for (const Case& c : cases) {
    SECTION(c.what) {
      TempDir dir;
      write_file(dir / "outside", "untouched");
      write_raw_tar_gz(dir / "bad.tar.gz", c.members);
      const auto before = entries_of(dir.path());
      try {
        extract_tar_gz_safely(dir / "bad.tar.gz", dir / "code");
        FAIL("extraction of a hostile archive succeeded");
      } catch (const ArchiveError& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find("'" + c.named + "'") != std::string::npos);
      }
      CHECK(entries_of(dir.path()) == before);  // no dest, no staging dir
      CHECK(read_file(dir / "outside") == "untouched");
      CHECK_FALSE(fs::exists("/etc/smp-local-pwned"));
    }
  }
}

TEST_CASE("a refused archive leaves an existing destination unchanged", "[archive][extract]") {
  TempDir dir;
  fs::create_directories(dir / "code");
  write_file(dir / "code" / "train.py", "old");
  write_raw_tar_gz(dir / "bad.tar.gz", {raw_file("train.py", "new"), raw_file("../x", "x")});
  const auto before = describe_tree(dir / "code");
  CHECK_THROWS_AS(extract_tar_gz_safely(dir / "bad.tar.gz", dir / "code"), ArchiveError);
  CHECK(describe_tree(dir / "code") == before);
  CHECK(entries_of(dir.path()) == std::vector<std::string>{"bad.tar.gz", "code"});
}

TEST_CASE("truncated and missing archives give a clear error", "[archive][extract]") {
  TempDir dir;
  make_source_dir(dir / "src");
  write_tar_gz(dir / "s.tar.gz", collect_tree(dir / "src"));
  const std::string bytes = read_file(dir / "s.tar.gz");
  write_file(dir / "cut.tar.gz", bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_AS(extract_tar_gz_safely(dir / "cut.tar.gz", dir / "code"), ArchiveError);
  CHECK_FALSE(fs::exists(dir / "code"));
  try {
    extract_tar_gz_safely(dir / "nope.tar.gz", dir / "code");
    FAIL("expected an ArchiveError");
  } catch (const ArchiveError& e) {
    CHECK(std::string(e.what()).find("nope.tar.gz") != std::string::npos);
  }
  CHECK(entries_of(dir.path()) == std::vector<std::string>{"cut.tar.gz", "s.tar.gz", "src"});
}

TEST_CASE("an empty archive gives an empty directory", "[archive][extract]") {
  TempDir dir;
  write_tar_gz(dir / "e.tar.gz", {});
  extract_tar_gz_safely(dir / "e.tar.gz", dir / "code");
  CHECK(fs::is_directory(dir / "code"));
  CHECK(fs::is_empty(dir / "code"));
}
