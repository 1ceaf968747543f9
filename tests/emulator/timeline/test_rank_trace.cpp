// Loading and validating libsmp trace files: good sets load in rank order; malformed ones fail
// with a message naming the file and the field.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>

#include "emulator/timeline/rank_trace.h"
#include "tests/emulator/timeline/pipeline_sim.h"
#include "tests/emulator/timeline/temp_dir.h"

using namespace smplocal::timeline;
using namespace smplocal::timeline::testing;
using Catch::Matchers::ContainsSubstring;
using smp::core::Json;

namespace {

void write_json(const std::filesystem::path& file, const std::string& text) {
  std::ofstream f(file, std::ios::trunc);
  f << text;
}

// A valid two-rank set, then `edit` applied to rank 1's document.
template <typename Edit>
std::filesystem::path broken_set(const TempDir& dir, Edit edit) {
  SimConfig c;
  auto docs = simulate_traces(c);
  edit(docs[1]);
  for (std::size_t r = 0; r < docs.size(); ++r)
    write_json(dir.path() / ("trace-rank" + std::to_string(r) + ".json"), docs[r].dump());
  return dir.path() / "trace-rank1.json";
}

std::string load_error(const std::filesystem::path& dir) {
  try {
    load_rank_traces(dir);
  } catch (const TimelineError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("load_rank_traces reads every rank with its metadata and events", "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 2;
  c.dp_size = 2;
  c.microbatches = 4;
  c.pipeline = "interleaved";
  c.comm_us = 50;
  c.placement = "spread";
  write_traces(c, dir.path());
  write_json(dir.path() / "trace-rank0.json.tmp",
             "{ half a file");  // a writer's temp file: ignored
  write_json(dir.path() / "notes.txt", "not a trace");

  const auto traces = load_rank_traces(dir.path());
  REQUIRE(traces.size() == 4);
  for (int r = 0; r < 4; ++r) CHECK(traces[r].rank == r);
  // spread: rank = pp * dp_size + dp
  CHECK(traces[1].pp_rank == 0);
  CHECK(traces[1].dp_rank == 1);
  CHECK(traces[2].pp_rank == 1);
  CHECK(traces[2].dp_rank == 0);
  CHECK(traces[0].host == "algo-1");
  CHECK(traces[0].pipeline == "interleaved");
  CHECK(traces[0].microbatches == 4);
  CHECK(traces[2].label() == "algo-1 · stage 1 · dp 0");

  int forwards = 0, sends = 0;
  for (const auto& ev : traces[0].events) {
    if (ev.cat == "forward") {
      ++forwards;
      CHECK(ev.microbatch.has_value());
      CHECK(ev.step == 0);
    }
    if (ev.cat == "send") {
      ++sends;
      CHECK(ev.tid == 1);
    }
  }
  CHECK(forwards == 4);
  CHECK(sends == 4);

  const auto lanes = lane_order(traces);
  REQUIRE(lanes.size() == 4);
  CHECK(lanes[0]->rank == 0);  // (pp 0, dp 0)
  CHECK(lanes[1]->rank == 1);  // (pp 0, dp 1)
  CHECK(lanes[2]->rank == 2);  // (pp 1, dp 0)
  CHECK(lanes[3]->rank == 3);
}

TEST_CASE("a missing or empty trace directory says what to do", "[timeline][unit]") {
  TempDir dir;
  CHECK_THAT(load_error(dir.path() / "nope"),
             ContainsSubstring("does not exist") && ContainsSubstring("SMP_TRACE_DIR"));
  CHECK_THAT(load_error(dir.path()), ContainsSubstring("no trace-rank*.json files"));
}

TEST_CASE("malformed trace files fail with the file and the field named", "[timeline][unit]") {
  TempDir dir;
  const std::string rank1 = "trace-rank1.json";

  SECTION("not JSON") {
    broken_set(dir, [](Json&) {});
    write_json(dir.path() / rank1, "{\"metadata\": {\"format\": \"libsmp-trace/1\",");
    const std::string err = load_error(dir.path());
    CHECK_THAT(err, ContainsSubstring(rank1) && ContainsSubstring("not valid JSON"));
  }
  SECTION("wrong format version") {
    broken_set(dir, [](Json& d) { d["metadata"]["format"] = "libsmp-trace/9"; });
    CHECK_THAT(load_error(dir.path()), ContainsSubstring(rank1) &&
                                           ContainsSubstring("libsmp-trace/9") &&
                                           ContainsSubstring("libsmp/trace/FORMAT.md"));
  }
  SECTION("metadata missing") {
    broken_set(dir, [](Json& d) { d.erase("metadata"); });
    CHECK_THAT(load_error(dir.path()),
               ContainsSubstring(rank1) && ContainsSubstring("metadata object is missing"));
  }
  SECTION("pp_rank out of range") {
    broken_set(dir, [](Json& d) { d["metadata"]["pp_rank"] = 5; });
    CHECK_THAT(load_error(dir.path()),
               ContainsSubstring(rank1) && ContainsSubstring("pp_rank 5 is not below pp_size 2"));
  }
  SECTION("host missing") {
    broken_set(dir, [](Json& d) { d["metadata"].erase("host"); });
    CHECK_THAT(load_error(dir.path()), ContainsSubstring("host must be a non-empty string"));
  }
  SECTION("negative duration") {
    broken_set(dir, [](Json& d) { d["traceEvents"][2]["dur"] = -3.0; });
    CHECK_THAT(load_error(dir.path()), ContainsSubstring(rank1) &&
                                           ContainsSubstring("traceEvents[2]") &&
                                           ContainsSubstring("dur must be >= 0"));
  }
  SECTION("ts not a number") {
    broken_set(dir, [](Json& d) { d["traceEvents"][0]["ts"] = "soon"; });
    CHECK_THAT(load_error(dir.path()),
               ContainsSubstring("traceEvents[0]") && ContainsSubstring("ts must be a number"));
  }
  SECTION("forward span without microbatch") {
    broken_set(dir, [](Json& d) {
      for (auto& ev : d["traceEvents"])
        if (ev["cat"] == "forward") {
          ev["args"].erase("microbatch");
          break;
        }
    });
    CHECK_THAT(load_error(dir.path()),
               ContainsSubstring("(\"F0\")") && ContainsSubstring("no args.microbatch"));
  }
  SECTION("traceEvents missing") {
    broken_set(dir, [](Json& d) { d.erase("traceEvents"); });
    CHECK_THAT(load_error(dir.path()), ContainsSubstring("traceEvents array is missing"));
  }
  SECTION("rank disagrees with the file name") {
    broken_set(dir, [](Json& d) { d["metadata"]["rank"] = 7; });
    CHECK_THAT(
        load_error(dir.path()),
        ContainsSubstring(rank1) && ContainsSubstring("rank is 7 but the file name says rank 1"));
  }
  SECTION("files of two jobs mixed") {
    broken_set(dir, [](Json& d) { d["metadata"]["microbatches"] = 8; });
    CHECK_THAT(load_error(dir.path()), ContainsSubstring(rank1) &&
                                           ContainsSubstring("microbatches is 8") &&
                                           ContainsSubstring("trace-rank0.json says 4"));
  }
}

TEST_CASE("unknown event phases and categories are carried, not rejected", "[timeline][unit]") {
  TempDir dir;
  broken_set(dir, [](Json& d) {
    d["traceEvents"].push_back(
        Json{{"name", "checkpoint"}, {"ph", "i"}, {"ts", 1732660000000001.0}, {"s", "p"}});
    d["traceEvents"].push_back(Json{{"name", "dataloader"},
                                    {"cat", "io"},
                                    {"ph", "X"},
                                    {"ts", 1732660000000001.0},
                                    {"dur", 5.0},
                                    {"tid", 2}});
  });
  const auto traces = load_rank_traces(dir.path());
  REQUIRE(traces.size() == 2);
  CHECK(traces[1].events.back().cat == "io");
  CHECK(traces[1].events[traces[1].events.size() - 2].ph == "i");
}
