// The pipeline schedules as pure functions: pick_next's priorities and the modelled pipeline's
// execution order, in-flight counts and bubble.
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "libsmp/core/schedule.h"

using namespace smp::core;

namespace {
// "F0 F1 B0 ..." for one stage of a simulation.
std::string order(const SimResult& r, int stage) {
  std::string out;
  for (const auto& s : r.stages[stage]) {
    if (!out.empty()) out += ' ';
    out += (s.backward ? 'B' : 'F') + std::to_string(s.microbatch);
  }
  return out;
}
TaskView view(TaskPhase phase, bool runnable = false, bool forward_done = false) {
  return TaskView{phase, runnable, forward_done};
}
}  // namespace

TEST_CASE("interleaved: a ready backward goes before a ready forward and a new microbatch",
          "[schedule]") {
  std::vector<TaskView> tasks = {view(TaskPhase::kBackward, true, true),
                                 view(TaskPhase::kForward, true, true), view(TaskPhase::kNotStarted)};
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == 0);
  tasks[0].runnable = false;
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == 1);
  tasks[1].runnable = false;
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == 2);
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 2) == -1);  // 2 in flight already
}

TEST_CASE("interleaved: after a backward, ready forward work goes first (1F1B alternation)",
          "[schedule]") {
  std::vector<TaskView> tasks = {view(TaskPhase::kBackward, true, true),
                                 view(TaskPhase::kForward, true, false), view(TaskPhase::kNotStarted)};
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4, /*last_backward=*/false) == 0);
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4, /*last_backward=*/true) == 1);
  tasks[1].runnable = false;  // waiting for its output: a new microbatch, within the cap
  tasks[1].forward_done = true;
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4, true) == 2);
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 2, true) == 0);  // cap reached: backward
  // Simple ignores it: forwards first anyway.
  tasks[1] = view(TaskPhase::kForward, true, false);
  CHECK(pick_next(PipelineSchedule::kSimple, tasks, 4, true) == 1);
}

TEST_CASE("interleaved: the modelled last stage alternates F and B in steady state", "[schedule]") {
  SimResult r = simulate_pipeline(PipelineSchedule::kInterleaved, 4, 8, 6, 1.0, 2.0);
  const std::string last = order(r, 3);
  // No two backwards in a row while forwards remain.
  CHECK(last.find("B0 F") != std::string::npos);
  CHECK(last.rfind("F7") > last.find("B0"));
  CHECK(r.idle_fraction(3) == Catch::Approx(ideal_bubble_fraction(4, 8)).margin(0.02));
}

TEST_CASE("simple: no backward before every forward on the stage", "[schedule]") {
  std::vector<TaskView> tasks = {view(TaskPhase::kBackward, true, true),
                                 view(TaskPhase::kForward, false, false)};
  CHECK(pick_next(PipelineSchedule::kSimple, tasks, 1) == -1);
  tasks[1].forward_done = true;
  CHECK(pick_next(PipelineSchedule::kSimple, tasks, 1) == 0);
  // The in-flight cap does not apply to simple: all microbatches may start.
  std::vector<TaskView> fresh(4, view(TaskPhase::kNotStarted));
  fresh[0] = view(TaskPhase::kForward, false, true);
  fresh[1] = view(TaskPhase::kForward, false, true);
  CHECK(pick_next(PipelineSchedule::kSimple, fresh, 2) == 2);
}

TEST_CASE("microbatches keep their order even when a later message arrives first", "[schedule]") {
  // Microbatch 1's activation is here, microbatch 0's is not: neither forward may run yet.
  std::vector<TaskView> tasks = {view(TaskPhase::kForward, false), view(TaskPhase::kForward, true)};
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == -1);
  // Microbatch 1's gradient is here, microbatch 0's is not.
  tasks = {view(TaskPhase::kBackward, false, true), view(TaskPhase::kBackward, true, true)};
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == -1);
  CHECK(pick_next(PipelineSchedule::kSimple, tasks, 4) == -1);
  // Microbatch 0 has not reached its backward yet (still waiting for the model output): the
  // backward of microbatch 1 waits for it.
  tasks = {view(TaskPhase::kForward, false, true), view(TaskPhase::kBackward, true, true)};
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == -1);
  // A task past its forward (output arrived) may continue ahead of an earlier one.
  tasks = {view(TaskPhase::kForward, false, true), view(TaskPhase::kForward, true, true)};
  CHECK(pick_next(PipelineSchedule::kInterleaved, tasks, 4) == 1);
}

TEST_CASE("simple is GPipe: every stage runs all forwards, then all backwards", "[schedule]") {
  for (int p : {1, 2, 4})
    for (int m : {1, 3, 8}) {
      auto r = simulate_pipeline(PipelineSchedule::kSimple, p, m, p + 2, 1.0, 2.0);
      std::string expected;
      for (int i = 0; i < m; ++i) expected += (i ? " F" : "F") + std::to_string(i);
      for (int i = 0; i < m; ++i) expected += " B" + std::to_string(i);
      for (int s = 0; s < p; ++s) {
        INFO("p=" << p << " m=" << m << " stage " << s);
        CHECK(order(r, s) == expected);
        CHECK(r.max_in_flight[s] == m);
      }
    }
}

TEST_CASE("interleaved is 1F1B: backward first, in-flight capped", "[schedule]") {
  auto r = simulate_pipeline(PipelineSchedule::kInterleaved, 2, 6, 2, 1.0, 2.0);
  CHECK(order(r, 1) == "F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5");
  CHECK(order(r, 0) == "F0 F1 B0 F2 B1 F3 B2 F4 B3 F5 B4 B5");
  CHECK(r.max_in_flight[0] == 2);
  for (int active : {1, 2, 3, 6}) {
    auto q = simulate_pipeline(PipelineSchedule::kInterleaved, 4, 8, active, 1.0, 1.0);
    for (int s = 0; s < 4; ++s) CHECK(q.max_in_flight[s] <= active);
    // The last stage always runs a microbatch's backward right after its forward.
    std::string last;
    for (int i = 0; i < 8; ++i) last += (i ? " F" : "F") + std::to_string(i) + " B" + std::to_string(i);
    CHECK(order(q, 3) == last);
  }
}

TEST_CASE("balanced stages: the bubble is (p-1)/(m+p-1)", "[schedule]") {
  for (auto schedule : {PipelineSchedule::kSimple, PipelineSchedule::kInterleaved})
    for (int p : {2, 4})
      for (int m : {4, 8, 16}) {
        auto r = simulate_pipeline(schedule, p, m, p + 2, 1.0, 1.0);
        INFO(to_string(schedule) << " p=" << p << " m=" << m);
        CHECK(r.makespan == Catch::Approx(2.0 * (m + p - 1)));
        for (int s = 0; s < p; ++s)
          CHECK(r.idle_fraction(s) == Catch::Approx(ideal_bubble_fraction(p, m)));
      }
}
