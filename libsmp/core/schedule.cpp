#include "libsmp/core/schedule.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace smp::core {

int in_flight_limit(PipelineSchedule schedule, int microbatches, int active_microbatches) {
  if (schedule == PipelineSchedule::kSimple) return std::max(1, microbatches);
  return std::max(1, std::min(active_microbatches, std::max(1, microbatches)));
}

int pick_next(PipelineSchedule schedule, const std::vector<TaskView>& tasks,
              int active_microbatches, bool last_backward) {
  const int m = static_cast<int>(tasks.size());
  int in_flight = 0, first_unstarted = -1, ready_forward = -1, ready_backward = -1;
  // Microbatches keep their order on a stage: only the earliest forward still due, and only the
  // earliest backward still due, may run (a later one's message can overtake an earlier one's).
  int first_forward_due = -1, first_backward_due = -1;
  bool all_forwards_done = true;
  // Per phase (0 forward, 1 backward) and stage: the earliest task still awaiting that stage's
  // reply; a later task's reply from the same stage waits for it.
  std::vector<int> first_awaiting[2];
  auto awaiting_slot = [&](const TaskView& t) -> int* {
    if (t.awaiting_stage < 0 || (t.phase != TaskPhase::kForward && t.phase != TaskPhase::kBackward))
      return nullptr;
    auto& v = first_awaiting[t.phase == TaskPhase::kBackward ? 1 : 0];
    if (static_cast<int>(v.size()) <= t.awaiting_stage) v.resize(t.awaiting_stage + 1, m);
    return &v[t.awaiting_stage];
  };
  for (int i = 0; i < m; ++i) {
    const TaskView& t = tasks[i];
    if (!t.runnable)
      if (int* slot = awaiting_slot(t); slot && *slot == m) *slot = i;
  }
  auto reply_in_order = [&](int i, const TaskView& t) {
    int* slot = awaiting_slot(t);
    return !slot || i < *slot;
  };
  for (int i = 0; i < m; ++i) {
    const TaskView& t = tasks[i];
    if (t.phase != TaskPhase::kDone && !t.forward_done) all_forwards_done = false;
    if (t.phase == TaskPhase::kForward && !t.forward_done && !t.parked_remote && first_forward_due < 0)
      first_forward_due = i;
    // Every started task still owes its backward (a task finishes right after it), including one
    // still on its way to model.backward: a later backward waits for it.
    if ((t.phase == TaskPhase::kForward || t.phase == TaskPhase::kBackward) &&
        !(t.phase == TaskPhase::kBackward && t.parked_remote) && first_backward_due < 0)
      first_backward_due = i;
  }
  for (int i = 0; i < m; ++i) {
    const TaskView& t = tasks[i];
    switch (t.phase) {
      case TaskPhase::kNotStarted:
        if (first_unstarted < 0) first_unstarted = i;
        break;
      case TaskPhase::kForward:
        ++in_flight;
        // A task past its forward (waiting for the model output) may continue in any order.
        if (t.runnable && ready_forward < 0 && reply_in_order(i, t) &&
            (t.forward_done || t.parked_remote || i == first_forward_due))
          ready_forward = i;
        break;
      case TaskPhase::kBackward:
        ++in_flight;
        if (t.runnable && ready_backward < 0 && reply_in_order(i, t) &&
            (i == first_backward_due || t.parked_remote))
          ready_backward = i;
        break;
      case TaskPhase::kDone: break;
    }
  }
  // A new microbatch starts with its forward, so it also waits for the earlier forwards' turn.
  int startable = first_forward_due < 0 && in_flight < in_flight_limit(schedule, m, active_microbatches)
                      ? first_unstarted
                      : -1;
  if (schedule == PipelineSchedule::kSimple) {
    // GPipe: the forward wave first (continue a started forward before opening a new one), and
    // no backward on this stage before every forward here has run.
    if (ready_forward >= 0) return ready_forward;
    if (startable >= 0) return startable;
    if (ready_backward >= 0 && all_forwards_done) return ready_backward;
    return -1;
  }
  // interleaved (and _only_forward, which never reaches a backward): backward first, but after a
  // backward, forward work that is ready goes first (1F1B alternation).
  if (last_backward && ready_backward >= 0) {
    if (ready_forward >= 0) return ready_forward;
    if (startable >= 0) return startable;
  }
  if (ready_backward >= 0) return ready_backward;
  if (ready_forward >= 0) return ready_forward;
  return startable;
}

double SimResult::idle_fraction(int s) const {
  double busy = 0;
  for (const auto& span : stages.at(s)) busy += span.end - span.start;
  return makespan > 0 ? 1.0 - busy / makespan : 0.0;
}

double ideal_bubble_fraction(int stages, int microbatches) {
  return static_cast<double>(stages - 1) / static_cast<double>(microbatches + stages - 1);
}

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

// Where one microbatch task of the model stands on one stage.
enum class Step {
  kNotStarted,
  kWaitActivation,  // started; its input comes from the previous stage
  kComputeForward,
  kWaitOutput,      // forward sent on; waits for the last stage's output (not on the last stage)
  kAtBackward,      // parked at model.backward until its gradient arrives
  kComputeBackward,
  kDone,
};

struct SimTask {
  Step step = Step::kNotStarted;
  bool forward_done = false;
  double activation_at = kNever, output_at = kNever, grad_at = kNever;
};

}  // namespace

SimResult simulate_pipeline(PipelineSchedule schedule, int stages, int microbatches,
                            int active_microbatches, double t_forward, double t_backward,
                            double t_message) {
  if (stages < 1 || microbatches < 1 || active_microbatches < 1)
    throw std::invalid_argument("simulate_pipeline: stages, microbatches and active_microbatches "
                                "must be positive");
  const int p = stages, m = microbatches;
  std::vector<std::vector<SimTask>> task(p, std::vector<SimTask>(m));
  std::vector<double> busy_until(p, 0.0);
  std::vector<int> running(p, -1);  // task computing on the stage, or -1
  std::vector<bool> last_backward(p, false);  // the stage's previous compute (pick_next's 1F1B)
  SimResult result;
  result.stages.resize(p);
  result.max_in_flight.assign(p, 0);
  for (int i = 0; i < m; ++i) task[0][i].activation_at = 0;

  auto arrived = [](double at, double now) { return at <= now; };
  double now = 0;
  int finished = 0;
  while (finished < p * m) {
    bool progressed = true;
    while (progressed) {
      progressed = false;
      for (int s = 0; s < p; ++s) {
        // Complete the compute that ends now.
        if (running[s] >= 0 && busy_until[s] <= now) {
          int i = running[s];
          SimTask& t = task[s][i];
          running[s] = -1;
          if (t.step == Step::kComputeForward) {
            t.forward_done = true;
            if (s + 1 < p) {
              task[s + 1][i].activation_at = now + t_message;
              t.step = Step::kWaitOutput;
            } else {
              for (int r = 0; r + 1 < p; ++r) task[r][i].output_at = now + t_message;
              t.step = Step::kAtBackward;  // the last stage goes straight on to model.backward
              t.grad_at = now;
            }
          } else {
            if (s > 0) task[s - 1][i].grad_at = now + t_message;
            t.step = Step::kDone;
            ++finished;
          }
          progressed = true;
        }
        if (running[s] >= 0) continue;
        // Zero-time transitions of parked tasks whose message arrived are decided by the policy.
        std::vector<TaskView> views(m);
        for (int i = 0; i < m; ++i) {
          const SimTask& t = task[s][i];
          TaskView& v = views[i];
          v.forward_done = t.forward_done;
          switch (t.step) {
            case Step::kNotStarted: v.phase = TaskPhase::kNotStarted; break;
            case Step::kWaitActivation:
              v.phase = TaskPhase::kForward;
              v.runnable = arrived(t.activation_at, now);
              break;
            case Step::kComputeForward: v.phase = TaskPhase::kForward; break;
            case Step::kWaitOutput:
              v.phase = TaskPhase::kForward;
              v.runnable = arrived(t.output_at, now);
              break;
            case Step::kAtBackward:
            case Step::kComputeBackward:
              v.phase = TaskPhase::kBackward;
              v.runnable = t.step == Step::kAtBackward && arrived(t.grad_at, now);
              break;
            case Step::kDone: v.phase = TaskPhase::kDone; break;
          }
        }
        int pick = pick_next(schedule, views, active_microbatches, last_backward[s]);
        if (pick < 0) continue;
        SimTask& t = task[s][pick];
        progressed = true;
        if (t.step == Step::kNotStarted) {
          t.step = Step::kWaitActivation;
          // A started task whose input is already here runs its forward at once (no park).
          if (!arrived(t.activation_at, now)) continue;
        }
        if (t.step == Step::kWaitActivation) {
          t.step = Step::kComputeForward;
          last_backward[s] = false;
          running[s] = pick;
          busy_until[s] = now + t_forward;
          result.stages[s].push_back({false, pick, now, now + t_forward});
        } else if (t.step == Step::kWaitOutput) {
          t.step = Step::kAtBackward;  // output received, loss computed, model.backward reached
        } else if (t.step == Step::kAtBackward) {
          t.step = Step::kComputeBackward;
          last_backward[s] = true;
          running[s] = pick;
          busy_until[s] = now + t_backward;
          result.stages[s].push_back({true, pick, now, now + t_backward});
        }
        int in_flight = 0;
        for (const auto& other : task[s])
          if (other.step != Step::kNotStarted && other.step != Step::kDone) ++in_flight;
        result.max_in_flight[s] = std::max(result.max_in_flight[s], in_flight);
      }
    }
    if (finished == p * m) break;
    // Advance to the next event: a compute ending or a message arriving.
    double next = kNever;
    for (int s = 0; s < p; ++s) {
      if (running[s] >= 0) next = std::min(next, busy_until[s]);
      for (const auto& t : task[s])
        for (double at : {t.activation_at, t.output_at, t.grad_at})
          if (at > now) next = std::min(next, at);
    }
    if (next == kNever)
      throw std::logic_error("simulate_pipeline: deadlock (no runnable task and no pending event)");
    now = next;
  }
  double first = kNever, last = 0;
  for (const auto& spans : result.stages)
    for (const auto& span : spans) {
      first = std::min(first, span.start);
      last = std::max(last, span.end);
    }
  result.makespan = last - first;
  return result;
}

}  // namespace smp::core
