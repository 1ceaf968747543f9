// build_timeline end to end on a trace directory, describe(), and the committed fixture set.
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>

#include "emulator/timeline/timeline.h"
#include "tests/emulator/timeline/pipeline_sim.h"
#include "tests/emulator/timeline/spawn.h"
#include "tests/emulator/timeline/temp_dir.h"

using namespace smplocal::timeline;
using namespace smplocal::timeline::testing;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("describe prints the one-line bubble summary", "[timeline][unit]") {
  TimelineSummary s;
  s.pp_size = 2;
  s.microbatches = 8;
  s.measured_bubble = 0.1324;
  s.theoretical_bubble = 1.0 / 9.0;
  CHECK(describe(s) == "pipeline bubble 13.2% measured vs 11.1% theoretical (p=2, m=8)");
}

TEST_CASE("build_timeline writes timeline.json and timeline.svg into the job directory",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 2;
  c.microbatches = 8;
  c.steps = 2;
  write_traces(c, dir.path() / "trace" / "ranks");
  const TimelineSummary s = build_timeline(dir.path() / "trace" / "ranks", dir.path());
  CHECK(std::filesystem::is_regular_file(dir.path() / "timeline.json"));
  CHECK(std::filesystem::is_regular_file(dir.path() / "timeline.svg"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "timeline.svg.tmp"));
  CHECK(s.step == 1);
  CHECK(describe(s) == "pipeline bubble 11.1% measured vs 11.1% theoretical (p=2, m=8)");
}

TEST_CASE("build_timeline on a broken directory reports the file", "[timeline][unit]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "ranks");
  std::ofstream(dir.path() / "ranks" / "trace-rank0.json") << "[]";
  try {
    build_timeline(dir.path() / "ranks", dir.path());
    FAIL("expected TimelineError");
  } catch (const TimelineError& e) {
    CHECK_THAT(std::string(e.what()),
               ContainsSubstring("trace-rank0.json") && ContainsSubstring("JSON object"));
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() / "timeline.json"));
}

TEST_CASE("the committed fixture set renders", "[timeline][unit]") {
  const std::filesystem::path fixture =
      std::filesystem::path(SMP_SOURCE_DIR) / "fixtures/traces/fashion-mnist-p2-dp4/ranks";
  REQUIRE(std::filesystem::is_directory(fixture));
  TempDir dir;
  const TimelineSummary s = build_timeline(fixture, dir.path());
  CHECK(s.pp_size == 2);
  CHECK(s.microbatches == 4);
  CHECK(s.ranks == 8);
  CHECK(s.schedule == "interleaved");
  CHECK(s.complete);
  // Balanced stages: latency and jitter only add idle time to the uniform-stage theory.
  CHECK(s.measured_bubble > s.theoretical_bubble);
  CHECK(s.measured_bubble < 0.4);

  // The committed picture (the README's) is what the current renderer draws.
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const bool same =
      read(dir.path() / "timeline.svg") == read(fixture.parent_path() / "timeline.svg");
  if (!same)
    FAIL(
        "fixtures/traces/fashion-mnist-p2-dp4/timeline.svg is stale; regenerate it with "
        "build-timeline/emulator/timeline/smp-timeline fixtures/traces/fashion-mnist-p2-dp4/ranks "
        "/tmp/out && "
        "cp /tmp/out/timeline.svg fixtures/traces/fashion-mnist-p2-dp4/");
}

TEST_CASE("smp-timeline renders a chosen step and explains bad input", "[timeline][unit]") {
  const std::string tool = std::string(SMP_BINARY_DIR) + "/emulator/timeline/smp-timeline";
  TempDir dir;
  SimConfig c;
  c.steps = 3;
  write_traces(c, dir.path() / "ranks");
  CHECK(run_program_quietly({tool, (dir.path() / "ranks").string(), (dir.path() / "out").string(),
                             "--step", "0"}) == 0);
  CHECK(std::filesystem::is_regular_file(dir.path() / "out" / "timeline.svg"));
  std::ifstream svg(dir.path() / "out" / "timeline.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, ContainsSubstring("data-step=\"0\""));
  CHECK(run_program_quietly({tool, (dir.path() / "ranks").string(), (dir.path() / "out").string(),
                             "--step", "7"}) == 1);
  CHECK(run_program_quietly({tool, (dir.path() / "missing").string()}) == 1);
  CHECK(run_program_quietly({tool}) == 2);
}
