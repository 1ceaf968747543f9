// The measured bubble against analytic values of the synthetic schedules, and step selection.
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fstream>

#include "emulator/timeline/step_stats.h"
#include "tests/emulator/timeline/pipeline_sim.h"
#include "tests/emulator/timeline/temp_dir.h"

using namespace smplocal::timeline;
using namespace smplocal::timeline::testing;
using Catch::Approx;
using Catch::Matchers::ContainsSubstring;
using smp::core::Json;

namespace {

std::vector<RankTrace> traces_of(const SimConfig& c, const TempDir& dir) {
  write_traces(c, dir.path());
  return load_rank_traces(dir.path());
}

}  // namespace

TEST_CASE("theoretical bubble is (p-1)/(m+p-1)", "[timeline][unit]") {
  CHECK(theoretical_bubble(1, 4) == 0.0);
  CHECK(theoretical_bubble(2, 4) == Approx(0.2));
  CHECK(theoretical_bubble(2, 8) == Approx(1.0 / 9.0));
  CHECK(theoretical_bubble(4, 4) == Approx(3.0 / 7.0));
  CHECK(theoretical_bubble(4, 8) == Approx(3.0 / 11.0));
}

TEST_CASE("uniform stages: measured bubble equals (p-1)/(m+p-1) for simple and interleaved",
          "[timeline][unit]") {
  const int p = GENERATE(2, 4);
  const int m = GENERATE(4, 8);
  const std::string pipeline = GENERATE(std::string("simple"), std::string("interleaved"));
  CAPTURE(p, m, pipeline);
  TempDir dir;
  SimConfig c;
  c.pp_size = p;
  c.microbatches = m;
  c.pipeline = pipeline;
  c.steps = 3;
  c.allreduce_us = 300;
  c.optimizer_us = 150;
  const auto traces = traces_of(c, dir);
  const StepAnalysis a = analyze_step(traces);
  const TimelineSummary& s = a.summary;

  CHECK(s.pp_size == p);
  CHECK(s.microbatches == m);
  CHECK(s.ranks == p);
  CHECK(s.steps == 3);
  CHECK(s.step == 2);  // the last complete step
  CHECK(s.complete);
  CHECK(s.schedule == pipeline);
  CHECK(s.theoretical_bubble == Approx(double(p - 1) / (m + p - 1)));
  CHECK(s.measured_bubble == Approx(s.theoretical_bubble).epsilon(1e-9));
  const double window = (m + p - 1) * (c.fwd_us + c.bwd_us);
  CHECK(s.window_us == Approx(window));
  REQUIRE(s.stages.size() == static_cast<std::size_t>(p));
  for (int k = 0; k < p; ++k) {
    CHECK(s.stages[k].pp_rank == k);
    CHECK(s.stages[k].busy_us == Approx(m * (c.fwd_us + c.bwd_us)));
    CHECK(s.stages[k].span_us == Approx(window));
    CHECK(s.stages[k].idle_fraction == Approx(s.theoretical_bubble));
  }
  // Every forward and backward of the step is placed; of communication only the allreduce
  // (comm_us = 0: no send/recv spans).
  for (const auto& lane : a.lanes) {
    CHECK(lane.compute.size() == static_cast<std::size_t>(2 * m));
    REQUIRE(lane.comm.size() == 1);
    CHECK(lane.comm[0]->cat == "allreduce");
  }
}

TEST_CASE("communication latency adds 2(p-1) hops to the simple schedule's window",
          "[timeline][unit]") {
  const int p = GENERATE(2, 4);
  const int m = GENERATE(4, 8);
  TempDir dir;
  SimConfig c;
  c.pp_size = p;
  c.microbatches = m;
  c.comm_us = 120;
  const auto traces = traces_of(c, dir);
  const auto s = analyze_step(traces).summary;
  const double busy = m * (c.fwd_us + c.bwd_us);
  const double window = (m + p - 1) * (c.fwd_us + c.bwd_us) + 2 * (p - 1) * c.comm_us;
  CHECK(s.window_us == Approx(window));
  CHECK(s.measured_bubble == Approx(1 - busy / window));
  CHECK(s.measured_bubble > s.theoretical_bubble);
}

TEST_CASE("fewer active microbatches than stages makes the interleaved bubble exceed theory",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 4;
  c.microbatches = 8;
  c.pipeline = "interleaved";
  c.active_microbatches = 2;
  const auto traces = traces_of(c, dir);
  const auto s = analyze_step(traces).summary;
  CHECK(s.measured_bubble > s.theoretical_bubble + 0.1);
}

TEST_CASE("data-parallel replicas are measured against their own pipeline's window",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 2;
  c.dp_size = 2;
  c.microbatches = 4;
  c.pipeline = "interleaved";
  c.placement = "spread";
  c.ranks_per_host = 2;
  c.jitter = 0.2;
  c.seed = 7;
  const auto traces = traces_of(c, dir);
  const StepAnalysis a = analyze_step(traces);
  REQUIRE(a.lanes.size() == 4);
  // Lane order (pp, dp); spread placement puts rank = pp*2 + dp; two ranks per host.
  CHECK(a.summary.stages[0].rank == 0);
  CHECK(a.summary.stages[1].rank == 1);
  CHECK(a.summary.stages[2].rank == 2);
  CHECK(a.summary.stages[2].host == "algo-2");
  // Stages of one replica share a window; the two replicas' windows differ (jitter).
  CHECK(a.lanes[0].window_end == a.lanes[2].window_end);
  CHECK(a.lanes[1].window_end == a.lanes[3].window_end);
  CHECK(a.lanes[0].window_end != a.lanes[1].window_end);
  for (const auto& st : a.summary.stages) {
    CHECK(st.idle_fraction > 0);
    CHECK(st.idle_fraction < 1);
  }
}

TEST_CASE("step selection: default last complete, explicit, absent, incomplete",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.steps = 3;
  auto docs = simulate_traces(c);
  // Rank 1 crashed inside step 2: its step span for step 2 was never written.
  auto& evs = docs[1]["traceEvents"];
  for (std::size_t i = 0; i < evs.size(); ++i)
    if (evs[i]["cat"] == "step" && evs[i]["args"]["step"] == 2) {
      evs.erase(i);
      break;
    }
  for (std::size_t r = 0; r < docs.size(); ++r)
    std::ofstream(dir.path() / ("trace-rank" + std::to_string(r) + ".json")) << docs[r].dump();
  const auto traces = load_rank_traces(dir.path());

  CHECK(steps_present(traces) == std::vector<int>{0, 1, 2});
  CHECK(complete_steps(traces) == std::vector<int>{0, 1});
  const auto def = analyze_step(traces).summary;
  CHECK(def.step == 1);
  CHECK(def.steps == 2);
  CHECK(def.complete);

  const auto first = analyze_step(traces, 0).summary;
  CHECK(first.step == 0);
  CHECK(first.measured_bubble == Approx(def.measured_bubble));

  const auto partial = analyze_step(traces, 2).summary;
  CHECK(partial.step == 2);
  CHECK_FALSE(partial.complete);

  try {
    analyze_step(traces, 9);
    FAIL("expected TimelineError");
  } catch (const TimelineError& e) {
    CHECK_THAT(std::string(e.what()),
               ContainsSubstring("step 9 is not in the traces; steps present: 0, 1, 2"));
  }
}

TEST_CASE("traces without step spans use the forward/backward extent", "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 4;
  c.microbatches = 8;
  c.step_spans = false;
  c.steps = 2;
  const auto traces = traces_of(c, dir);
  CHECK(complete_steps(traces) == std::vector<int>{0, 1});
  const auto s = analyze_step(traces).summary;
  CHECK(s.step == 1);
  CHECK(s.measured_bubble == Approx(3.0 / 11.0));
}

TEST_CASE("a job that stopped before any complete step is shown as incomplete",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  auto docs = simulate_traces(c);
  // Only rank 0 finished; rank 1 wrote its forwards and nothing else.
  Json kept = Json::array();
  for (auto& ev : docs[1]["traceEvents"])
    if (ev["cat"] == "forward") kept.push_back(ev);
  docs[1]["traceEvents"] = kept;
  for (std::size_t r = 0; r < docs.size(); ++r)
    std::ofstream(dir.path() / ("trace-rank" + std::to_string(r) + ".json")) << docs[r].dump();
  const auto traces = load_rank_traces(dir.path());
  const auto s = analyze_step(traces).summary;
  CHECK(s.step == 0);
  CHECK_FALSE(s.complete);
  CHECK(s.steps == 0);
}

TEST_CASE("events without args.step belong to the step span that contains them",
          "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.comm_us = 50;
  c.steps = 2;
  auto docs = simulate_traces(c);
  for (auto& doc : docs)
    for (auto& ev : doc["traceEvents"])
      if (ev["cat"] == "send" || ev["cat"] == "recv") ev["args"].erase("step");
  for (std::size_t r = 0; r < docs.size(); ++r)
    std::ofstream(dir.path() / ("trace-rank" + std::to_string(r) + ".json")) << docs[r].dump();
  const auto traces = load_rank_traces(dir.path());  // outlives the analysis, which points into it
  const auto a = analyze_step(traces, 0);
  for (const auto& lane : a.lanes) {
    CHECK(lane.comm.size() == static_cast<std::size_t>(c.microbatches * 2));
    for (const TraceEvent* ev : lane.comm) {
      CHECK_FALSE(ev->step.has_value());
      CHECK(ev->ts >= a.start);
      CHECK(ev->end() <= a.end + 1e-6);
    }
  }
}

TEST_CASE("the default step is the last complete training step, not a forward-only eval step",
          "[timeline][unit]") {
  SimConfig c;
  c.steps = 2;
  TempDir dir;
  write_traces(c, dir.path());
  // Make step 1 an evaluation step: forward spans only.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    Json doc = Json::parse(std::ifstream(entry.path()));
    Json kept = Json::array();
    for (const auto& ev : doc["traceEvents"])
      if (!(ev.value("cat", "") == "backward" && ev.contains("args") && ev["args"].value("step", -1) == 1))
        kept.push_back(ev);
    doc["traceEvents"] = kept;
    std::ofstream(entry.path()) << doc.dump();
  }
  auto traces = load_rank_traces(dir.path());
  CHECK(analyze_step(traces, std::nullopt).summary.step == 0);
  CHECK(analyze_step(traces, 1).summary.step == 1);  // still selectable explicitly
}
