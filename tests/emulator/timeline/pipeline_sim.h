#pragma once
// PipelineSim: a tiny discrete-event simulator of SMP's pipeline schedules that writes trace files
// in libsmp's format (libsmp/trace/FORMAT.md) with known span durations, so the timeline can be
// tested against analytic bubble values without LibTorch or a real job.
//
// Model: per step and per data-parallel replica, stage s runs F(s,i) after F(s-1,i) (+ comm
// latency) and B(s,i) after B(s+1,i) (+ latency); B(p-1,i) follows F(p-1,i). When a stage is free
// it picks, among ready ops: `simple` — forwards by microbatch, backwards only once all of the
// stage's forwards are done (GPipe); `interleaved` — backwards first, then forwards (1F1B-like),
// with at most `active_microbatches` in flight per stage.

#include <filesystem>
#include <string>
#include <vector>

#include "libsmp/core/json.h"

namespace smplocal::timeline::testing {

// SimConfig: the job shape and the cost model of one synthetic trace set.
struct SimConfig {
  int pp_size = 2;
  int microbatches = 4;
  int dp_size = 1;
  std::string pipeline = "simple";  // or "interleaved"
  int active_microbatches = 0;      // 0: = microbatches
  double fwd_us = 1000;             // per forward span (stage scale 1)
  double bwd_us = 2000;             // per backward span
  std::vector<double> stage_scale;  // optional per-stage cost factor (empty: all 1)
  double comm_us = 0;               // activation / gradient latency; > 0 also emits send/recv spans
  double jitter = 0;                // relative noise on compute durations, deterministic
  unsigned seed = 1;
  int steps = 1;
  double allreduce_us = 0;            // per rank after each step (emitted when > 0)
  double optimizer_us = 0;            // per rank after the allreduce (emitted when > 0)
  double step_gap_us = 200;           // between one step's end and the next one's start
  std::string placement = "cluster";  // cluster: rank = dp*p + pp; spread: rank = pp*dp + dp
  int ranks_per_host = 0;             // 0: all ranks on algo-1
  bool step_spans = true;             // emit "step N" spans
  double t0_us = 1732660000000000.0;  // unix µs of the first step's start
};

// SimSpan: one simulated compute op.
struct SimSpan {
  int stage = 0, microbatch = 0;
  bool forward = true;
  double start = 0, end = 0;  // µs relative to the step's start
};

// Compute spans of one step of one replica (times relative to the step start), durations
// without jitter scaled by `stage_scale`.
std::vector<SimSpan> simulate_step(const SimConfig& config);

// One trace document per rank (index = global rank).
std::vector<smp::core::Json> simulate_traces(const SimConfig& config);

// Writes simulate_traces() as <dir>/trace-rank<R>.json (creating dir).
void write_traces(const SimConfig& config, const std::filesystem::path& dir);

}  // namespace smplocal::timeline::testing
