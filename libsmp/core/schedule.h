#pragma once
// Pipeline schedules as pure functions: which microbatch task a stage resumes next (the runtime's
// scheduler asks this at every switch) and a discrete-event model of a whole pipeline built on the
// same rule (tests and benchmarks compare real runs against it). No tensors, no MPI.
//
// A stage runs one task per microbatch. A task is started (it begins the user's step function),
// runs its forward on this stage, may park waiting for a peer (activation, final output), reaches
// the backward yield point (model.backward) and parks there until its gradient has arrived, runs its
// backward and finishes.
//   simple      (GPipe): forwards first; no backward starts on a stage before every microbatch has
//               finished its forward there; up to `microbatches` tasks in flight.
//   interleaved (1F1B-like): a ready backward always goes first, then a ready forward, then a new
//               microbatch, with at most `active_microbatches` tasks in flight.
// Microbatches keep their order on every stage: a forward (or a new microbatch) waits until every
// earlier microbatch's forward has run there, a backward until every earlier backward has, even
// when its own message overtook theirs.

#include <vector>

#include "libsmp/core/config.h"

namespace smp::core {

enum class TaskPhase { kNotStarted, kForward, kBackward, kDone };

// One microbatch task as its stage's scheduler sees it.
struct TaskView {
  TaskPhase phase = TaskPhase::kNotStarted;
  bool runnable = false;      // started, parked, and what it waits for has arrived
  bool forward_done = false;  // its forward compute on this stage has finished
  // Parked on a call to another stage (the execution server): it has no compute due here until
  // the reply comes. In its forward, a later microbatch may start (its forward is not done); in
  // its backward, a later microbatch's backward may start. Once the reply is in, it may resume in
  // any order.
  bool parked_remote = false;
  // The stage whose reply it awaits (-1: none, e.g. idle between requests). Replies from one stage
  // are taken in microbatch order within a phase, so gradients accumulate in the same order in
  // every run (replies from different stages are independent).
  int awaiting_stage = -1;
};

// How many tasks may be in flight (started, not finished) at once on a stage.
int in_flight_limit(PipelineSchedule schedule, int microbatches, int active_microbatches);

// The task to resume or start next (tasks[i] is microbatch i), or -1 when none may run now.
// `last_backward`: the stage's previous compute was a backward; interleaved then takes forward
// work before another backward when both are ready (1F1B: forwards and backwards alternate in
// steady state instead of running in bursts, which starve the stages after this one).
int pick_next(PipelineSchedule schedule, const std::vector<TaskView>& tasks,
              int active_microbatches, bool last_backward = false);

// One compute span of the modelled pipeline.
struct SimSpan {
  bool backward = false;
  int microbatch = 0;
  double start = 0, end = 0;
};

struct SimResult {
  std::vector<std::vector<SimSpan>> stages;  // per stage, in execution order
  std::vector<int> max_in_flight;            // per stage
  double makespan = 0;                       // first start to last end over all stages
  // 1 - busy / makespan for stage `s` (the bubble fraction of that stage).
  double idle_fraction(int s) const;
};

// Models `stages` stages with equal forward/backward times per microbatch and a fixed message
// latency, each stage scheduled by pick_next. Throws std::invalid_argument on bad sizes.
SimResult simulate_pipeline(PipelineSchedule schedule, int stages, int microbatches,
                            int active_microbatches, double t_forward, double t_backward,
                            double t_message = 0);

// The textbook bubble fraction of a balanced GPipe/1F1B pipeline: (p-1)/(m+p-1).
double ideal_bubble_fraction(int stages, int microbatches);

}  // namespace smp::core
