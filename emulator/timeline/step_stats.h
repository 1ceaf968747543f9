#pragma once
// Step statistics: which training steps the traces hold, and for one of them each stage's busy
// and idle time inside its pipeline's step window — the measured pipeline bubble.
//
// Why a pipeline window and not each rank's own step span: a rank's step span starts and ends
// where that rank enters and leaves the step call, which differs between stages (the last stage
// may return before stage 0 finishes its backwards). The bubble that (p−1)/(m+p−1) predicts is
// idle time relative to the whole pipeline's flush, so every stage of one pipeline (ranks sharing
// dp_rank and tp_rank) is measured against the same window: the earliest start to the latest end
// of that pipeline's step spans (or of its F/B spans when a rank wrote no step span).

#include <optional>
#include <string>
#include <vector>

#include "emulator/timeline/rank_trace.h"

namespace smplocal::timeline {

// StageStats: one rank's compute time and idle fraction in the shown step.
struct StageStats {
  int pp_rank = 0;
  int dp_rank = 0;
  std::string host;
  double busy_us = 0;        // sum of forward + backward durations in the step
  double span_us = 0;        // the pipeline's step window
  double idle_fraction = 0;  // 1 - busy / span
  int rank = 0;
};

// TimelineSummary: what the title of the picture and smp-local's end-of-run line report.
struct TimelineSummary {
  int pp_size = 0;
  int microbatches = 0;
  int ranks = 0;
  int steps = 0;                   // complete steps in the traces
  double measured_bubble = 0;      // mean idle fraction over the stages, in the shown step
  double theoretical_bubble = 0;   // (p-1)/(m+p-1)
  std::vector<StageStats> stages;  // lane order: (pp_rank, dp_rank)
  int step = -1;                   // the step shown / measured
  bool complete = true;            // false when no step was complete and a partial one is shown
  std::string schedule;            // "simple" / "interleaved"
  double window_us = 0;            // the shown step's extent over all pipelines
};

// LaneStep: one rank's events of the analysed step, placed for drawing.
struct LaneStep {
  const RankTrace* trace = nullptr;
  std::vector<const TraceEvent*> compute;   // forward/backward spans
  std::vector<const TraceEvent*> comm;      // send/recv/allreduce spans (tid 1 or comm categories)
  const TraceEvent* step_span = nullptr;    // this rank's own step span, when written
  double window_start = 0, window_end = 0;  // its pipeline's window (unix µs)
};

// StepAnalysis: everything the SVG needs about one step.
struct StepAnalysis {
  TimelineSummary summary;
  std::vector<LaneStep> lanes;  // lane order
  double start = 0, end = 0;    // extent over all pipelines (unix µs)
};

// (p-1)/(m+p-1): the GPipe / 1F1B bubble fraction with uniform stage times.
double theoretical_bubble(int pp_size, int microbatches);

// Ascending step numbers found in any rank's events.
std::vector<int> steps_present(const std::vector<RankTrace>& traces);

// Ascending step numbers every rank finished: each rank wrote that step's span (or, in traces
// without step spans, every forward of it).
std::vector<int> complete_steps(const std::vector<RankTrace>& traces);

// Analyses `step`, or by default the last complete step (the last present one, marked
// incomplete, when none is complete). Throws TimelineError for an absent step or empty traces.
// The result's lanes point into `traces`, which must outlive it (hence no temporaries).
StepAnalysis analyze_step(const std::vector<RankTrace>& traces, std::optional<int> step = {});
StepAnalysis analyze_step(std::vector<RankTrace>&& traces, std::optional<int> step = {}) = delete;

}  // namespace smplocal::timeline
