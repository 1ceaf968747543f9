#pragma once
// TaskRunner: runs one task per microbatch — one call of the user's step function — and decides,
// by the pipeline schedule, which task runs whenever one has to wait for a peer.
//
// Tasks are worker threads that hand a baton: exactly one thread runs at any time, so all MPI
// calls come from one thread at a time (MPI_THREAD_SERIALIZED is enough) and gradient accumulation
// never races. A task parks where it waits for a message (activation, final output, gradient) or
// reaches model.backward; the thread holding the baton polls what parked tasks wait for (a Wait's
// ready() predicate) and hands the baton straight to the task core::pick_next chooses. The
// body is a plain std::function called once per microbatch on a worker thread, so a language
// binding can pass its own callable (it only has to take its interpreter lock inside).
// No torch here: the caller propagates torch's thread-local state into the body itself.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libsmp/core/schedule.h"

namespace smp::pipeline {

// What a parked task waits for. ready() runs on the scheduler's thread while it holds the baton.
struct Wait {
  std::function<bool()> ready;
  std::string what;  // for the timeout message: "the activation of microbatch 2 from ..."
};

struct RunOptions {
  core::PipelineSchedule schedule = core::PipelineSchedule::kInterleaved;
  int active_microbatches = 1;
  std::chrono::duration<double> timeout{300.0};
  std::function<void()> progress;  // called on every scheduler pass (completes pending sends)
  bool run_inline = false;         // run the tasks one after another on the calling thread
  // Called with the message when a wait times out, before any task unwinds (a binding prints its
  // interpreter's stacks here, while every task still stands where it waits).
  std::function<void(const std::string&)> on_timeout;
  std::string context;             // "rank 3 (pipeline stage 1), step 7": prefixes errors
};

class TaskRunner {
 public:
  TaskRunner();
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Runs body(0) .. body(count-1), each as a task. Returns when all have finished; if any threw,
  // the others are unwound at their next park (they see StepAborted) and the first error is
  // rethrown here. A wait that outlives options.timeout throws smp::TimeoutError in its task.
  void run(int count, const std::function<void(int)>& body, const RunOptions& options);

  // The runner and the task index of the calling thread (nullptr / -1 outside a task).
  static TaskRunner* current();
  static int current_task();

  // Inside a task: park until wait.ready() holds.
  void wait(Wait wait);
  // What the parked tasks wait for, one "microbatch i: <what>" per task (for diagnostics).
  std::string describe_waits() const;

  // Inside a task: whether an earlier microbatch's wait has completed (polling those not yet
  // known), so the schedule should choose before this task goes on with work that is here.
  bool earlier_ready();
  // Inside a task: the backward yield point. The task enters its backward phase and parks until
  // wait.ready() holds and the schedule lets it run.
  void enter_backward(Wait wait);
  // Inside a task: its forward compute on this stage has finished (simple waits for all of them).
  void forward_done();
  // What task `task` has to do next as the schedule sees it: a task serving requests learns from
  // the message it receives whether that is forward or backward work (and it is then no longer
  // parked on a call of its own). Called inside the task or
  // from a Wait's ready() (by the baton holder).
  void set_phase(int task, core::TaskPhase phase, bool forward_done);
  // Inside a task: it parks in its forward on a call to another stage (true) or resumed (false).
  void set_parked_remote(bool parked);
  // Inside a task: the stage whose reply it awaits (-1 when resumed).
  void set_awaiting(int stage);

  // Thrown inside tasks that are unwound because another task failed.
  struct StepAborted {};

 private:
  struct Worker;
  struct Task;
  static constexpr int kAllDone = -2;
  // The baton holder's scheduling loop: returns `self` (keep running), kAllDone, or the task it
  // handed the baton to. Never throws (failures land in first_error_).
  int dispatch(int self, bool main_thread);
  void hand_to(int task);
  void park(int task);
  void task_main(int task);
  void run_inline(int count, const std::function<void(int)>& body);
  void poll_waits();
  bool poll_one(int task);  // true when its wait has just completed (or failed)
  Worker& idle_worker();

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Task> tasks_;
  RunOptions options_;
  const std::function<void(int)>* body_ = nullptr;
  struct Baton;
  std::unique_ptr<Baton> baton_;
  std::exception_ptr first_error_;
  bool last_backward_ = false;  // the last task dispatched was in its backward (pick_next)
  int done_ = 0;
  bool inline_ = false;
};

}  // namespace smp::pipeline
