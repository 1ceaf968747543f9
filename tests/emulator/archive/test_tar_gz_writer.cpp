// write_tar_gz: archives GNU tar and gzip read back exactly; atomic on failure.
#include "emulator/archive/tar_gz_writer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <filesystem>
#include <set>
#include <sstream>

#include "emulator/archive/archive_error.h"
#include "tests/emulator/archive/test_support.h"

using namespace smplocal::archive;
using namespace smplocal::archive::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBlock = 64 << 10;

// A model directory with every shape of member the writer must handle.
std::set<std::string> make_tree(const fs::path& root) {
  const std::string long_dir(120, 'd');
  const std::string long_file = std::string(150, 'f') + ".bin";
  fs::create_directories(root / "empty");
  fs::create_directories(root / "sub" / long_dir);
  write_file(root / "zero", "");
  write_file(root / "one", "1");
  write_file(root / "block", sample_bytes(kBlock, 1));
  write_file(root / "many blocks.bin", sample_bytes(10 * kBlock + 3, 2));
  write_file(root / "h\xc3\xa9llo w\xc3\xb6rld \xe6\x97\xa5\xe6\x9c\xac.txt", "utf-8\n");
  write_file(root / "sub" / long_dir / long_file, sample_bytes(5000, 3));
  write_file(root / "run.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(root / "run.sh", fs::perms(0755));
  write_file(root / "secret", "s");
  fs::permissions(root / "secret", fs::perms(0600));
  fs::create_symlink("../one", root / "sub" / "up");
  fs::create_symlink("/nonexistent/abs", root / "dangling");
  const struct timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
  ::utimensat(AT_FDCWD, (root / "one").c_str(), times, AT_SYMLINK_NOFOLLOW);
  std::set<std::string> names;
  for (const auto& e : collect_tree(root)) {
    names.insert(e.name + (fs::is_directory(fs::symlink_status(e.source)) ? "/" : ""));
  }
  return names;
}

std::set<std::string> tar_listing(const fs::path& archive) {
  RunResult r = run({"tar", "-tzf", archive.string()});
  REQUIRE(r.status == 0);
  std::set<std::string> names;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) names.insert(line);
  return names;
}

std::vector<std::string> dir_listing(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("GNU tar reads back exactly what write_tar_gz wrote", "[archive][tar]") {
  const unsigned threads = GENERATE(1u, 4u);
  TempDir dir;
  const fs::path src = dir / "model";
  const std::set<std::string> expected = make_tree(src);
  const fs::path out = dir / "model.tar.gz";
  TarGzOptions options;
  options.threads = threads;
  options.block_size = kBlock;
  const ArchiveStats stats = write_tar_gz(out, collect_tree(src), options);

  CHECK(stats.files == expected.size());
  CHECK(stats.output_bytes == fs::file_size(out));
  CHECK(stats.input_bytes == 1 + kBlock + 10 * kBlock + 3 + 6 + 5000 + 18 + 1);
  CHECK(run({"gzip", "-t", out.string()}).status == 0);
  CHECK(tar_listing(out) == expected);

  RunResult verbose = run({"tar", "-tzvf", out.string()});
  CHECK(verbose.output.find("root/root") != std::string::npos);
  CHECK(verbose.output.find("warning") == std::string::npos);
  CHECK(verbose.output.find("Ignoring") == std::string::npos);  // no odd pax records

  const fs::path back = dir / "back";
  fs::create_directories(back);
  RunResult x = run({"tar", "-xzpf", out.string(), "-C", back.string()});
  INFO(x.output);
  REQUIRE(x.status == 0);
  CHECK(describe_tree(back) == describe_tree(src));
  CHECK(fs::last_write_time(back / "one") == fs::last_write_time(src / "one"));
}

TEST_CASE("an empty entry list gives a valid empty archive", "[archive][tar]") {
  TempDir dir;
  const fs::path out = dir / "output.tar.gz";
  const ArchiveStats stats = write_tar_gz(out, {});
  CHECK(stats.files == 0);
  CHECK(run({"gzip", "-t", out.string()}).status == 0);
  CHECK(tar_listing(out).empty());
}

TEST_CASE("the same tree gives the same bytes", "[archive][tar]") {
  TempDir dir;
  make_tree(dir / "m");
  write_tar_gz(dir / "a.tar.gz", collect_tree(dir / "m"), {.threads = 1});
  write_tar_gz(dir / "b.tar.gz", collect_tree(dir / "m"), {.threads = 3});
  CHECK(read_file(dir / "a.tar.gz") == read_file(dir / "b.tar.gz"));
}

TEST_CASE("a failed write leaves nothing behind and keeps an old archive", "[archive][tar]") {
  TempDir dir;
  fs::create_directories(dir / "m");
  write_file(dir / "m" / "a", "a");
  fs::create_directories(dir / "out");
  const fs::path out = dir / "out" / "model.tar.gz";
  write_file(out, "previous");
  auto entries = collect_tree(dir / "m");
  entries.push_back({dir / "m" / "vanished", "vanished"});
  try {
    write_tar_gz(out, entries);
    FAIL("expected an ArchiveError");
  } catch (const ArchiveError& e) {
    CHECK(std::string(e.what()).find("vanished") != std::string::npos);
  }
  CHECK(read_file(out) == "previous");
  CHECK(dir_listing(dir / "out") == std::vector<std::string>{"model.tar.gz"});
}

TEST_CASE("write_tar_gz refuses member names that could escape", "[archive][tar]") {
  TempDir dir;
  write_file(dir / "f", "x");
  for (const char* bad : {"../f", "/f", "a/../../f", ""}) {
    CHECK_THROWS_AS(write_tar_gz(dir / "x.tar.gz", {{dir / "f", bad}}), ArchiveError);
  }
  CHECK_FALSE(fs::exists(dir / "x.tar.gz"));
}

TEST_CASE("write_tar_gz explains a missing output directory", "[archive][tar]") {
  TempDir dir;
  try {
    write_tar_gz(dir / "no" / "such" / "model.tar.gz", {});
    FAIL("expected an ArchiveError");
  } catch (const ArchiveError& e) {
    CHECK(std::string(e.what()).find("model.tar.gz") != std::string::npos);
  }
}

TEST_CASE("Python's tarfile (the SageMaker toolkit's reader) reads the archive", "[archive][tar]") {
  TempDir dir;
  const std::set<std::string> expected = make_tree(dir / "m");
  write_tar_gz(dir / "m.tar.gz", collect_tree(dir / "m"));
  // Prints each name, with "/" after directories, as the GNU tar listing does.
  const char* script =
      "import sys, tarfile\n"
      "with tarfile.open(sys.argv[1], 'r:gz') as t:\n"
      "    for m in t.getmembers():\n"
      "        sys.stdout.buffer.write((m.name + ('/' if m.isdir() else '') + '\\n')"
      ".encode('utf-8', 'surrogateescape'))\n";
  RunResult r = run({"python3", "-c", script, (dir / "m.tar.gz").string()});
  if (r.output.rfind("cannot spawn", 0) == 0) SKIP("python3 not installed");
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::set<std::string> names;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) names.insert(line);
  CHECK(names == expected);
}
