// The merged Chrome trace: valid JSON, every event of every rank, named processes, ts from 0.
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <fstream>
#include <map>

#include "emulator/timeline/merged_trace.h"
#include "tests/emulator/timeline/pipeline_sim.h"
#include "tests/emulator/timeline/temp_dir.h"

using namespace smplocal::timeline;
using namespace smplocal::timeline::testing;
using smp::core::Json;

TEST_CASE("merged trace holds every event, pid = rank, named lanes, rebased time",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 2;
  c.dp_size = 2;
  c.microbatches = 4;
  c.pipeline = "interleaved";
  c.placement = "spread";
  c.ranks_per_host = 2;
  c.comm_us = 40;
  c.allreduce_us = 200;
  c.optimizer_us = 100;
  c.steps = 2;
  write_traces(c, dir.path() / "ranks");
  const auto traces = load_rank_traces(dir.path() / "ranks");
  const auto out = dir.path() / "job" / "timeline.json";
  write_merged_trace(traces, out);

  std::ifstream in(out);
  const Json doc = Json::parse(in);  // throws (fails the test) if not valid JSON
  REQUIRE(doc["traceEvents"].is_array());
  CHECK(doc["displayTimeUnit"] == "ms");
  CHECK(doc["metadata"]["format"] == "smp-local-timeline/1");
  CHECK(doc["metadata"]["clock_origin_unix_us"].get<double>() == Catch::Approx(c.t0_us));

  std::size_t expected_events = 0;
  for (const auto& t : traces) expected_events += t.events.size();

  std::map<int, std::string> process_names;
  std::map<int, int> sort_index;
  std::map<int, std::size_t> per_pid;
  std::size_t data_events = 0;
  double min_ts = 1e300;
  for (const auto& ev : doc["traceEvents"]) {
    if (ev["ph"] == "M") {
      if (ev["name"] == "process_name") process_names[ev["pid"].get<int>()] = ev["args"]["name"];
      if (ev["name"] == "process_sort_index")
        sort_index[ev["pid"].get<int>()] = ev["args"]["sort_index"];
      continue;
    }
    ++data_events;
    ++per_pid[ev["pid"].get<int>()];
    min_ts = std::min(min_ts, ev["ts"].get<double>());
  }
  CHECK(data_events == expected_events);
  CHECK(min_ts == 0.0);
  for (const auto& t : traces) CHECK(per_pid[t.rank] == t.events.size());

  // spread, 2 ranks per host: rank 0 (pp0 dp0) algo-1, 1 (pp0 dp1) algo-1, 2 (pp1 dp0) algo-2, 3
  // algo-2.
  CHECK(process_names[0] == "algo-1 · stage 0 · dp 0");
  CHECK(process_names[1] == "algo-1 · stage 0 · dp 1");
  CHECK(process_names[2] == "algo-2 · stage 1 · dp 0");
  CHECK(process_names[3] == "algo-2 · stage 1 · dp 1");
  CHECK(sort_index == std::map<int, int>{{0, 0}, {1, 1}, {2, 2}, {3, 3}});

  // Durations and args survive; ts shifted by exactly the origin.
  const TraceEvent& first = traces[2].events.front();
  bool found = false;
  for (const auto& ev : doc["traceEvents"])
    if (ev["ph"] == "X" && ev["pid"] == 2 && ev["name"] == first.name &&
        ev["args"] == first.raw["args"]) {
      CHECK(ev["dur"].get<double>() == first.dur);
      CHECK(ev["ts"].get<double>() == Catch::Approx(first.ts - c.t0_us).margin(1e-3));
      found = true;
    }
  CHECK(found);
}

TEST_CASE("merged trace text is deterministic and one event per line", "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.comm_us = 10;
  write_traces(c, dir.path());
  const auto traces = load_rank_traces(dir.path());
  const std::string a = merged_trace_text(traces),
                    b = merged_trace_text(load_rank_traces(dir.path()));
  CHECK(a == b);
  std::size_t lines = 0;
  for (char ch : a) lines += ch == '\n';
  std::size_t events = 0;
  for (const auto& t : traces) events += t.events.size();
  CHECK(lines == 1 + events + 5 * traces.size() /* metadata */ + 1);
}
