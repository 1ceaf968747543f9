// collect_tree: what goes into an archive, under which names, in which order.
#include "emulator/archive/collect_tree.h"

#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <filesystem>

#include "emulator/archive/archive_error.h"
#include "tests/emulator/archive/test_support.h"

using namespace smplocal::archive;
using namespace smplocal::archive::testing;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> names(const std::vector<ArchiveEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}
}  // namespace

TEST_CASE("collect_tree lists files, dirs and symlinks sorted, parents first", "[archive]") {
  TempDir dir;
  const fs::path root = dir / "model";
  fs::create_directories(root / "a" / "empty");
  fs::create_directories(root / "a b");
  write_file(root / "a" / "w.bin", "x");
  write_file(root / "z.json", "{}");
  write_file(root / "a-b", "");
  fs::create_symlink("/etc", root / "outside");       // stored as a link, never followed
  fs::create_symlink("a", root / "dirlink");          // a link to a directory: not descended
  REQUIRE(::mkfifo((root / "pipe").c_str(), 0644) == 0);  // skipped

  const auto entries = collect_tree(root);
  CHECK(names(entries) == std::vector<std::string>{"a", "a b", "a-b", "a/empty", "a/w.bin",
                                                   "dirlink", "outside", "z.json"});
  CHECK(entries[4].source == root / "a" / "w.bin");
}

TEST_CASE("collect_tree prefixes names and adds the prefix directory", "[archive]") {
  TempDir dir;
  fs::create_directories(dir / "out");
  write_file(dir / "out" / "metrics.csv", "1,2\n");
  CHECK(names(collect_tree(dir / "out", "data")) ==
        std::vector<std::string>{"data", "data/metrics.csv"});
  CHECK(names(collect_tree(dir / "out", "./data/")) ==
        std::vector<std::string>{"data", "data/metrics.csv"});
  CHECK(names(collect_tree(dir / "out")) == std::vector<std::string>{"metrics.csv"});
}

TEST_CASE("collect_tree of an empty directory is empty", "[archive]") {
  TempDir dir;
  CHECK(collect_tree(dir.path()).empty());
}

TEST_CASE("collect_tree refuses bad roots and prefixes with a clear message", "[archive]") {
  TempDir dir;
  write_file(dir / "file", "x");
  CHECK_THROWS_AS(collect_tree(dir / "missing"), ArchiveError);
  CHECK_THROWS_AS(collect_tree(dir / "file"), ArchiveError);
  CHECK_THROWS_AS(collect_tree(dir.path(), "/abs"), ArchiveError);
  CHECK_THROWS_AS(collect_tree(dir.path(), "a/../.."), ArchiveError);
  try {
    collect_tree(dir / "missing");
  } catch (const ArchiveError& e) {
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
}
