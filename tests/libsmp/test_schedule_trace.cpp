// The executed schedule, read back from the trace files libsmp writes (libsmp/trace/FORMAT.md):
// simple runs every forward of a stage before its first backward and has all microbatches in
// flight; interleaved never has more than active_microbatches in flight, runs microbatches in
// order, and starts backwards while later microbatches still wait for their forward.
// On the execution server a microbatch's forward (or backward) on a stage may be several compute
// stretches (the leader resumes after each reply); a stage's forward of microbatch i here spans
// from its first forward stretch to its last, and likewise its backward.
#include "catch_torch.h"

#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness.h"

namespace {

struct Span {
  std::string cat;
  int mb = -1;
  double ts = 0, end = 0;
};

// F/B spans of `step` for one rank, one per (kind, microbatch), in time order.
std::vector<Span> compute_spans(const smp::Json& doc, int step) {
  std::map<std::pair<std::string, int>, Span> merged;
  for (const auto& e : doc.at("traceEvents")) {
    std::string cat = e.at("cat");
    if (cat != "forward" && cat != "backward") continue;
    if (e.at("args").at("step") != step) continue;
    double ts = e.at("ts"), dur = e.at("dur");
    const int mb = e.at("args").at("microbatch").get<int>();
    auto [it, fresh] = merged.try_emplace({cat, mb}, Span{cat, mb, ts, ts + dur});
    if (!fresh) {
      it->second.ts = std::min(it->second.ts, ts);
      it->second.end = std::max(it->second.end, ts + dur);
    }
  }
  std::vector<Span> out;
  for (auto& [key, span] : merged) out.push_back(span);
  std::sort(out.begin(), out.end(), [](const Span& a, const Span& b) { return a.ts < b.ts; });
  return out;
}

std::string order(const std::vector<Span>& spans) {
  std::string s;
  for (const auto& sp : spans) s += (s.empty() ? "" : " ") + std::string(sp.cat == "forward" ? "F" : "B") + std::to_string(sp.mb);
  return s;
}

// Most microbatches between their forward's start and their backward's end at once.
int max_in_flight(const std::vector<Span>& spans) {
  std::vector<std::pair<double, int>> events;
  for (const auto& sp : spans) {
    if (sp.cat == "forward") events.emplace_back(sp.ts, +1);
    else events.emplace_back(sp.end, -1);
  }
  std::sort(events.begin(), events.end(), [](auto& a, auto& b) {
    return a.first < b.first || (a.first == b.first && a.second < b.second);
  });
  int cur = 0, best = 0;
  for (auto& [t, d] : events) best = std::max(best, cur += d);
  return best;
}

void run_and_check(const std::string& pipeline, int microbatches, std::optional<int> active) {
  const int world = smptest::world_size_from_env();
  std::string dir = std::string(SMP_BINARY_DIR) + "/test-traces/schedule-" + pipeline + "-np" +
                    std::to_string(world);
  smptest::TrainConfig c;
  c.pp = world;
  c.microbatches = microbatches;
  c.pipeline = pipeline;
  c.active_microbatches = active;
  c.steps = 3;
  c.trace_dir = dir;
  c.batch = 2 * microbatches;
  smptest::train_smp(c);  // shutdown(false) flushes this rank's trace
  MPI_Barrier(MPI_COMM_WORLD);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) return;
  const int limit = active ? *active : world + 2;
  for (int r = 0; r < world; ++r) {
    std::ifstream in(dir + "/trace-rank" + std::to_string(r) + ".json");
    REQUIRE(in);
    smp::Json doc = smp::Json::parse(in);
    CHECK(doc.at("metadata").at("format") == "libsmp-trace/1");
    CHECK(doc.at("metadata").at("rank") == r);
    CHECK(doc.at("metadata").at("pipeline") == pipeline);
    int stage = doc.at("metadata").at("pp_rank");
    for (int step = 0; step < c.steps; ++step) {
      auto spans = compute_spans(doc, step);
      INFO(pipeline << " stage " << stage << " step " << step << ": " << order(spans));
      REQUIRE(spans.size() == static_cast<size_t>(2 * microbatches));
      std::string forwards, backwards;
      for (const auto& sp : spans) (sp.cat == "forward" ? forwards : backwards) += std::to_string(sp.mb) + " ";
      std::string in_order;
      for (int i = 0; i < microbatches; ++i) in_order += std::to_string(i) + " ";
      CHECK(forwards == in_order);
      CHECK(backwards == in_order);
      if (pipeline == "simple") {
        for (int i = 0; i < microbatches; ++i) CHECK(spans[i].cat == "forward");
        CHECK(max_in_flight(spans) == microbatches);
      } else {
        CHECK(max_in_flight(spans) <= limit);
        // Backward first: microbatch 0's backward starts before the last forward does.
        double first_backward = 1e300, last_forward = 0;
        for (const auto& sp : spans)
          if (sp.cat == "backward") first_backward = std::min(first_backward, sp.ts);
          else last_forward = std::max(last_forward, sp.ts);
        CHECK(first_backward < last_forward);
      }
    }
    for (const auto& e : doc.at("traceEvents")) {
      CHECK(e.at("pid") == r);
      std::string cat = e.at("cat");
      CHECK((cat == "step" || cat == "forward" || cat == "backward" || cat == "send" ||
             cat == "recv" || cat == "allreduce" || cat == "optimizer"));
      if (cat == "forward" || cat == "backward") CHECK(e.at("tid") == 0);
      if (cat == "send" || cat == "recv") CHECK(e.at("tid") == 1);
    }
  }
}

}  // namespace

TEST_CASE("simple runs all forwards, then all backwards, with every microbatch in flight", "[schedule]") {
  run_and_check("simple", 8, std::nullopt);
}

TEST_CASE("interleaved runs backward first, within active_microbatches", "[schedule]") {
  run_and_check("interleaved", 8, std::nullopt);
  run_and_check("interleaved", 8, 2);
}
