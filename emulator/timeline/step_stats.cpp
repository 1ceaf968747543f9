// Step selection and per-stage busy / idle accounting (the measured pipeline bubble).
#include "emulator/timeline/step_stats.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

namespace smplocal::timeline {
namespace {

bool is_compute(const TraceEvent& ev) {
  return ev.is_span() && (ev.cat == "forward" || ev.cat == "backward");
}

bool is_comm(const TraceEvent& ev) {
  if (!ev.is_span() || ev.cat == "step" || is_compute(ev) || ev.cat == "optimizer") return false;
  return ev.cat == "send" || ev.cat == "recv" || ev.cat == "allreduce" || ev.tid == 1;
}

// StepIndex: one rank's step spans by step and by start time, so looking a step up stays
// O(log n) on long jobs (thousands of steps, many events each).
struct StepIndex {
  std::map<int, const TraceEvent*> by_step;
  std::vector<const TraceEvent*> by_start;  // ascending ts

  explicit StepIndex(const RankTrace& t) {
    for (const auto& ev : t.events)
      if (ev.is_span() && ev.cat == "step" && ev.step) {
        by_step.emplace(*ev.step, &ev);
        by_start.push_back(&ev);
      }
    std::stable_sort(by_start.begin(), by_start.end(),
                     [](const TraceEvent* a, const TraceEvent* b) { return a->ts < b->ts; });
  }

  const TraceEvent* span_of(int step) const {
    auto it = by_step.find(step);
    return it == by_step.end() ? nullptr : it->second;
  }

  // The step an event belongs to: args.step, else the step span containing its midpoint.
  std::optional<int> step_of(const TraceEvent& ev) const {
    if (ev.step) return ev.step;
    const double mid = ev.ts + ev.dur / 2;
    auto it = std::upper_bound(by_start.begin(), by_start.end(), mid,
                               [](double t, const TraceEvent* s) { return t < s->ts; });
    if (it == by_start.begin()) return std::nullopt;
    const TraceEvent* s = *std::prev(it);
    if (mid <= s->end()) return s->step;
    return std::nullopt;
  }
};

bool has_step_spans(const std::vector<RankTrace>& traces) {
  for (const auto& t : traces)
    for (const auto& ev : t.events)
      if (ev.is_span() && ev.cat == "step") return true;
  return false;
}

}  // namespace

double theoretical_bubble(int pp_size, int microbatches) {
  if (pp_size < 1 || microbatches < 1) return 0;
  return static_cast<double>(pp_size - 1) / static_cast<double>(microbatches + pp_size - 1);
}

std::vector<int> steps_present(const std::vector<RankTrace>& traces) {
  std::set<int> steps;
  for (const auto& t : traces)
    for (const auto& ev : t.events)
      if (ev.is_span() && (ev.cat == "step" || is_compute(ev)) && ev.step) steps.insert(*ev.step);
  return {steps.begin(), steps.end()};
}

std::vector<int> complete_steps(const std::vector<RankTrace>& traces) {
  // steps -> number of ranks that finished it
  std::map<int, std::size_t> finished;
  if (has_step_spans(traces)) {
    for (const auto& t : traces)
      for (const auto& [step, span] : StepIndex(t).by_step) ++finished[step];
  } else {
    for (const auto& t : traces) {
      std::map<int, std::set<int>> forwards;  // step -> microbatches
      for (const auto& ev : t.events)
        if (ev.is_span() && ev.cat == "forward" && ev.step && ev.microbatch)
          forwards[*ev.step].insert(*ev.microbatch);
      for (const auto& [step, mbs] : forwards)
        if (static_cast<int>(mbs.size()) >= t.microbatches) ++finished[step];
    }
  }
  std::vector<int> out;
  for (const auto& [step, ranks] : finished)
    if (ranks == traces.size()) out.push_back(step);
  return out;
}

StepAnalysis analyze_step(const std::vector<RankTrace>& traces, std::optional<int> step) {
  if (traces.empty())
    throw TimelineError("no rank traces to analyse — pass the directory holding trace-rank*.json");
  const std::vector<int> present = steps_present(traces);
  const std::vector<int> complete = complete_steps(traces);
  const std::string where = traces.front().file.parent_path().string();
  if (present.empty())
    throw TimelineError(
        where +
        ": the traces hold no step or forward/backward spans — the job stopped before its "
        "first smp.step finished, or tracing was off inside the step function");
  int chosen;
  bool is_complete;
  if (step) {
    if (!std::binary_search(present.begin(), present.end(), *step)) {
      std::string list;
      for (int s : present) list += (list.empty() ? "" : ", ") + std::to_string(s);
      throw TimelineError(where + ": step " + std::to_string(*step) +
                          " is not in the traces; steps present: " + list);
    }
    chosen = *step;
    is_complete = std::binary_search(complete.begin(), complete.end(), chosen);
  } else if (!complete.empty()) {
    // The last complete training step: evaluation steps (forward only) say little about the
    // pipeline, and samples run one after every epoch.
    chosen = complete.back();
    for (auto it = complete.rbegin(); it != complete.rend(); ++it) {
      bool backward = false;
      for (const auto& t : traces)
        for (const auto& ev : t.events)
          backward |= ev.is_span() && ev.cat == "backward" && ev.step == *it;
      if (backward) {
        chosen = *it;
        break;
      }
    }
    is_complete = true;
  } else {
    chosen = present.back();
    is_complete = false;
  }

  StepAnalysis a;
  TimelineSummary& sum = a.summary;
  sum.pp_size = traces.front().pp_size;
  sum.microbatches = traces.front().microbatches;
  sum.ranks = static_cast<int>(traces.size());
  sum.steps = static_cast<int>(complete.size());
  sum.theoretical_bubble = theoretical_bubble(sum.pp_size, sum.microbatches);
  sum.step = chosen;
  sum.complete = is_complete;
  sum.schedule = traces.front().pipeline;

  // Gather each lane's events of the step and its own extent.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  using PipelineKey = std::tuple<int, int>;  // (dp_rank, tp_rank): the ranks of one pipeline
  std::map<PipelineKey, std::pair<double, double>> windows;
  for (const RankTrace* t : lane_order(traces)) {
    LaneStep lane;
    lane.trace = t;
    const StepIndex index(*t);
    lane.step_span = index.span_of(chosen);
    double lo = kInf, hi = -kInf;
    for (const auto& ev : t->events) {
      if (!ev.is_span() || index.step_of(ev) != chosen) continue;
      if (is_compute(ev)) {
        lane.compute.push_back(&ev);
        lo = std::min(lo, ev.ts);
        hi = std::max(hi, ev.end());
      } else if (is_comm(ev)) {
        lane.comm.push_back(&ev);
      }
    }
    if (lane.step_span) {
      lo = std::min(lo, lane.step_span->ts);
      hi = std::max(hi, lane.step_span->end());
    }
    if (lo <= hi) {
      auto [it, fresh] = windows.try_emplace(PipelineKey{t->dp_rank, t->tp_rank}, lo, hi);
      if (!fresh) it->second = {std::min(it->second.first, lo), std::max(it->second.second, hi)};
    }
    a.lanes.push_back(std::move(lane));
  }

  a.start = kInf;
  a.end = -kInf;
  for (const auto& [key, w] : windows) {
    a.start = std::min(a.start, w.first);
    a.end = std::max(a.end, w.second);
  }
  if (a.start > a.end) a.start = a.end = 0;
  sum.window_us = a.end - a.start;

  double idle_sum = 0;
  for (LaneStep& lane : a.lanes) {
    const RankTrace& t = *lane.trace;
    auto it = windows.find(PipelineKey{t.dp_rank, t.tp_rank});
    if (it != windows.end()) {
      lane.window_start = it->second.first;
      lane.window_end = it->second.second;
    }
    StageStats st;
    st.pp_rank = t.pp_rank;
    st.dp_rank = t.dp_rank;
    st.host = t.host;
    st.rank = t.rank;
    for (const TraceEvent* ev : lane.compute) st.busy_us += ev->dur;
    st.span_us = lane.window_end - lane.window_start;
    st.idle_fraction = st.span_us > 0 ? std::clamp(1.0 - st.busy_us / st.span_us, 0.0, 1.0) : 0.0;
    idle_sum += st.idle_fraction;
    sum.stages.push_back(st);
  }
  sum.measured_bubble = sum.stages.empty() ? 0 : idle_sum / static_cast<double>(sum.stages.size());
  return a;
}

}  // namespace smplocal::timeline
