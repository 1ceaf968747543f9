// Local channels: ShardedByS3Key assignment, links instead of copies, single files.
#include <catch2/catch_test_macros.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "emulator/stage/channels.h"
#include "tests/emulator/support.h"

using namespace smplocal;
namespace fs = std::filesystem;

namespace {
ino_t inode(const fs::path& p) {
  struct stat st{};
  stat(p.c_str(), &st);
  return st.st_ino;
}
}  // namespace

TEST_CASE("shards: sorted paths, file i to host i mod n", "[stage]") {
  CHECK(shard_indices(5, 0, 2) == std::vector<size_t>{0, 2, 4});
  CHECK(shard_indices(5, 1, 2) == std::vector<size_t>{1, 3});
  CHECK(shard_indices(2, 2, 3).empty());
}

TEST_CASE("a sharded local channel is hard-linked per host", "[stage]") {
  TempDir d;
  for (const char* name : {"b.txt", "a.txt", "sub/c.txt", "d.txt"}) {
    fs::create_directories((d.path / "src" / name).parent_path());
    std::ofstream(d.path / "src" / name) << name;
  }
  CHECK(list_files_sorted(d.path / "src") == std::vector<std::string>{"a.txt", "b.txt", "d.txt", "sub/c.txt"});
  ChannelSpec c;
  c.name = "train";
  c.uri = (d.path / "src").string();
  c.distribution = "ShardedByS3Key";
  auto r = stage_local_channel(c, 1, 2, d.path / "h2/train", true);
  CHECK(r.mounts.empty());
  CHECK(r.files_linked == 2);
  CHECK(fs::exists(d.path / "h2/train/b.txt"));
  CHECK(fs::exists(d.path / "h2/train/sub/c.txt"));
  CHECK_FALSE(fs::exists(d.path / "h2/train/a.txt"));
  CHECK(inode(d.path / "h2/train/b.txt") == inode(d.path / "src/b.txt"));  // no bytes copied
}

TEST_CASE("a replicated directory is a read-only bind mount, or a symlink without namespaces", "[stage]") {
  TempDir d;
  fs::create_directories(d.path / "src");
  ChannelSpec c;
  c.name = "train";
  c.uri = (d.path / "src").string();
  auto r = stage_local_channel(c, 0, 2, d.path / "h1/train", true);
  REQUIRE(r.mounts.size() == 1);
  CHECK(r.mounts[0].target == "/opt/ml/input/data/train");
  CHECK(r.mounts[0].readonly);
  auto fb = stage_local_channel(c, 0, 2, d.path / "h1b/train", false);
  CHECK(fs::is_symlink(d.path / "h1b/train"));
}

TEST_CASE("a single-file channel holds just that file", "[stage]") {
  TempDir d;
  std::ofstream(d.path / "one.csv") << "1";
  std::ofstream(d.path / "other.csv") << "2";
  ChannelSpec c;
  c.name = "f";
  c.uri = (d.path / "one.csv").string();
  stage_local_channel(c, 0, 1, d.path / "h/f", true);
  CHECK(fs::exists(d.path / "h/f/one.csv"));
  CHECK_FALSE(fs::exists(d.path / "h/f/other.csv"));
}
