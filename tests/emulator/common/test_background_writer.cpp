// BackgroundWriter: atomic writes off the caller's thread, newest content wins, failures surface
// in drain().
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <string>

#include "emulator/common/background_writer.h"
#include "emulator/common/fs.h"
#include "tests/emulator/support.h"

using namespace smplocal;
namespace fs = std::filesystem;

TEST_CASE("BackgroundWriter: every file is on disk after drain, with its newest content",
          "[common][unit]") {
  TempDir d;
  BackgroundWriter w;
  w.write(d.path / "a.json", "first");
  w.write(d.path / "sub/b.json", "b");  // parents are created
  for (int i = 0; i < 200; ++i) w.write(d.path / "record.json", "version " + std::to_string(i));
  w.drain();
  CHECK(read_file(d.path / "a.json") == "first");
  CHECK(read_file(d.path / "sub/b.json") == "b");
  CHECK(read_file(d.path / "record.json") == "version 199");
  // Atomic writes: no temporary file is left next to the results.
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(d.path))
    if (e.is_regular_file()) ++files;
  CHECK(files == 3);
}

TEST_CASE("BackgroundWriter: a failed write is reported by drain, once", "[common][unit]") {
  TempDir d;
  write_file(d.path / "not-a-dir", "x");
  BackgroundWriter w;
  w.write(d.path / "not-a-dir/record.json", "{}");
  w.write(d.path / "ok.json", "{}");
  CHECK_THROWS(w.drain());
  CHECK(read_file(d.path / "ok.json") == "{}");  // later writes still happen
  CHECK_NOTHROW(w.drain());
}

TEST_CASE("BackgroundWriter: destruction waits for pending writes", "[common][unit]") {
  TempDir d;
  {
    BackgroundWriter w;
    for (int i = 0; i < 20; ++i)
      w.write(d.path / ("f" + std::to_string(i)), std::string(100000, 'x'));
  }
  for (int i = 0; i < 20; ++i) CHECK(fs::file_size(d.path / ("f" + std::to_string(i))) == 100000);
}
