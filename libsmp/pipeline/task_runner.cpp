#include "libsmp/pipeline/task_runner.h"

#include <optional>
#include <semaphore>
#include <thread>

#include "libsmp/comm/work.h"
#include "libsmp/runtime/error.h"

namespace smp::pipeline {
namespace {
thread_local TaskRunner* t_runner = nullptr;
thread_local int t_task = -1;
}  // namespace

// The baton is handed directly from thread to thread: whoever holds it (the calling thread at
// first, then a task that parks or finishes) runs the scheduling loop, dispatch(), and wakes the
// task it picks; a parked task sleeps on its worker's semaphore, the calling thread on `main`
// until every task has finished. Semaphores give the happens-before edges between holders.
struct TaskRunner::Baton {
  std::binary_semaphore main{0};
};

// A worker thread, reused across steps (starting threads per microbatch would cost more than a
// small model's forward).
struct TaskRunner::Worker {
  std::thread thread;
  std::binary_semaphore go{0};
  std::function<void()> job;  // set by the baton holder while the worker is idle
  bool quit = false;
  bool busy = false;
};

struct TaskRunner::Task {
  core::TaskView view;
  Worker* worker = nullptr;
  std::optional<Wait> waiting;  // what the parked task waits for (none: parked ready)
  std::chrono::steady_clock::time_point deadline;
  std::exception_ptr resume_error;  // thrown inside the task when it resumes
  bool abort = false;
};

TaskRunner::TaskRunner() : baton_(std::make_unique<Baton>()) {}

TaskRunner::~TaskRunner() {
  for (auto& w : workers_) {
    w->quit = true;
    w->go.release();
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

TaskRunner* TaskRunner::current() { return t_runner; }
int TaskRunner::current_task() { return t_task; }

TaskRunner::Worker& TaskRunner::idle_worker() {
  for (auto& w : workers_)
    if (!w->busy) return *w;
  auto w = std::make_unique<Worker>();
  Worker* raw = w.get();
  raw->thread = std::thread([raw] {
    for (;;) {
      raw->go.acquire();
      if (raw->quit) return;
      std::function<void()> job = std::move(raw->job);
      raw->job = nullptr;
      job();  // ends by handing the baton on; touches nothing shared after that
    }
  });
  workers_.push_back(std::move(w));
  return *raw;
}

void TaskRunner::run(int count, const std::function<void(int)>& body, const RunOptions& options) {
  if (t_runner) throw Error("smp::step cannot be called from inside a step function.");
  options_ = options;
  body_ = &body;
  first_error_ = nullptr;
  done_ = 0;
  last_backward_ = false;
  tasks_.assign(count, Task{});
  if (options.run_inline || count == 0) {
    run_inline(count, body);
    return;
  }
  inline_ = false;
  if (dispatch(-1, /*main_thread=*/true) != kAllDone) baton_->main.acquire();
  if (first_error_) {
    tasks_.clear();  // no stale waits (their predicates reference task state) past the step
    std::rethrow_exception(first_error_);
  }
}

void TaskRunner::run_inline(int count, const std::function<void(int)>& body) {
  inline_ = true;
  t_runner = this;
  try {
    for (int i = 0; i < count; ++i) {
      t_task = i;
      tasks_[i].view.phase = core::TaskPhase::kForward;
      body(i);
      tasks_[i].view.phase = core::TaskPhase::kDone;
    }
  } catch (...) {
    t_runner = nullptr;
    t_task = -1;
    throw;
  }
  t_runner = nullptr;
  t_task = -1;
}

void TaskRunner::task_main(int task) {
  t_runner = this;
  t_task = task;
  try {
    (*body_)(task);
  } catch (const StepAborted&) {
  } catch (...) {
    if (!first_error_) first_error_ = std::current_exception();
  }
  Task& t = tasks_[task];
  t.view.phase = core::TaskPhase::kDone;
  t.waiting.reset();
  t.worker->busy = false;
  ++done_;
  t_runner = nullptr;
  t_task = -1;
  dispatch(-1, /*main_thread=*/false);  // pass the baton on (or wake the caller: all done)
}

void TaskRunner::hand_to(int task) {
  Task& t = tasks_[task];
  t.view.runnable = false;
  t.waiting.reset();
  if (t.view.phase == core::TaskPhase::kNotStarted) {
    t.view.phase = core::TaskPhase::kForward;
    Worker& w = idle_worker();
    w.busy = true;
    t.worker = &w;
    w.job = [this, task] { task_main(task); };
  }
  t.worker->go.release();
}

int TaskRunner::dispatch(int self, bool main_thread) {
  const int count = static_cast<int>(tasks_.size());
  comm::Backoff backoff;
  for (;;) {
    if (first_error_) {
      // Unwind every started task (each throws StepAborted where it is parked); start no more.
      if (self >= 0 && !tasks_[self].abort) {
        tasks_[self].abort = true;
        return self;
      }
      for (int i = 0; i < count; ++i) {
        Task& t = tasks_[i];
        if (i == self || t.view.phase == core::TaskPhase::kNotStarted ||
            t.view.phase == core::TaskPhase::kDone)
          continue;
        t.abort = true;
        hand_to(i);
        return i;
      }
      break;  // nothing live any more
    }
    if (done_ == count) break;
    try {
      if (options_.progress) options_.progress();
      poll_waits();
    } catch (...) {
      if (!first_error_) first_error_ = std::current_exception();
      continue;
    }
    // A task whose wait failed (timeout, broken message) resumes first so it can throw.
    int pick = -1;
    for (int i = 0; i < count && pick < 0; ++i)
      if (tasks_[i].resume_error) pick = i;
    if (pick < 0) {
      std::vector<core::TaskView> views(count);
      for (int i = 0; i < count; ++i) views[i] = tasks_[i].view;
      pick = core::pick_next(options_.schedule, views, options_.active_microbatches,
                             last_backward_);
    }
    if (pick >= 0) last_backward_ = tasks_[pick].view.phase == core::TaskPhase::kBackward;
    if (pick < 0) {
      bool anyone_waiting = false;
      for (const auto& t : tasks_)
        if (t.waiting) anyone_waiting = true;
      if (!anyone_waiting) {
        first_error_ = std::make_exception_ptr(
            Error("libsmp internal error: the pipeline scheduler has no runnable task and none "
                  "waiting (" + options_.context + "); please report this with the trace."));
        continue;
      }
      backoff.pause();
      continue;
    }
    if (pick == self) {
      tasks_[self].view.runnable = false;
      tasks_[self].waiting.reset();
      return self;
    }
    hand_to(pick);
    return pick;
  }
  if (!main_thread) baton_->main.release();
  return kAllDone;
}

void TaskRunner::park(int task) {
  Worker* me = tasks_[task].worker;
  if (dispatch(task, /*main_thread=*/false) != task) me->go.acquire();
  Task& t = tasks_[task];
  if (t.abort) throw StepAborted{};
  if (t.resume_error) {
    std::exception_ptr e = t.resume_error;
    t.resume_error = nullptr;
    std::rethrow_exception(e);
  }
}

bool TaskRunner::poll_one(int i) {
  Task& t = tasks_[i];
  if (!t.waiting || t.view.runnable) return false;
  try {
    if (!t.waiting->ready()) return false;
  } catch (...) {
    t.resume_error = std::current_exception();
  }
  t.view.runnable = true;
  return true;
}

std::string TaskRunner::describe_waits() const {
  std::string out;
  for (size_t i = 0; i < tasks_.size(); ++i)
    if (tasks_[i].waiting)
      out += (out.empty() ? "" : "; ") + std::string("microbatch ") + std::to_string(i) + ": " +
             tasks_[i].waiting->what;
  return out.empty() ? "nothing (computing)" : out;
}

bool TaskRunner::earlier_ready() {
  const int task = t_task;
  if (inline_ || task <= 0 || task >= static_cast<int>(tasks_.size())) return false;
  bool any = false;
  for (int i = 0; i < task; ++i) {
    poll_one(i);
    any = any || (tasks_[i].waiting && tasks_[i].view.runnable);
  }
  return any;
}

void TaskRunner::poll_waits() {
  auto now = std::chrono::steady_clock::now();
  // Messages from one peer arrive in the order they were sent. When a later microbatch's wait
  // completes in this pass, an earlier one polled before its (earlier) message landed is polled
  // again, so both become runnable together and the schedule can keep microbatch order.
  int newest_ready = -1;
  for (int i = 0; i < static_cast<int>(tasks_.size()); ++i) {
    Task& t = tasks_[i];
    if (poll_one(i)) {
      newest_ready = i;
      continue;
    }
    if (t.waiting && !t.view.runnable && now > t.deadline) {
      std::string message = options_.context + ", microbatch " + std::to_string(i) + ": " +
                            comm::timeout_message(options_.timeout, t.waiting->what);
      if (options_.on_timeout) options_.on_timeout(message);
      t.resume_error = std::make_exception_ptr(TimeoutError(message));
      t.view.runnable = true;
    }
  }
  for (int i = 0; i < newest_ready; ++i) poll_one(i);
}

void TaskRunner::wait(Wait wait) {
  const int task = t_task;
  if (inline_) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.timeout);
    comm::Backoff backoff;
    while (!wait.ready()) {
      if (options_.progress) options_.progress();
      if (std::chrono::steady_clock::now() > deadline) {
        std::string message = options_.context + ", microbatch " + std::to_string(task) + ": " +
                              comm::timeout_message(options_.timeout, wait.what);
        if (options_.on_timeout) options_.on_timeout(message);
        throw TimeoutError(message);
      }
      backoff.pause();
    }
    return;
  }
  if (wait.ready()) {
    // Already here: keep running (no switch needed) — unless an earlier microbatch may run too;
    // then the schedule chooses (it may pick this task again), so microbatches keep their order.
    if (!earlier_ready()) return;
    wait.ready = [] { return true; };
  }
  Task& t = tasks_[task];
  t.waiting = std::move(wait);
  t.view.runnable = false;
  t.deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.timeout);
  park(task);
}

void TaskRunner::enter_backward(Wait wait) {
  const int task = t_task;
  Task& t = tasks_[task];
  t.view.phase = core::TaskPhase::kBackward;
  if (inline_) {
    this->wait(std::move(wait));
    return;
  }
  // Whether this backward runs now is the schedule's decision: park; dispatch() may pick this
  // very task again at once (then it just continues, without a thread switch).
  t.waiting = std::move(wait);
  t.view.runnable = false;
  t.deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.timeout);
  park(task);
}

void TaskRunner::forward_done() {
  if (t_task >= 0 && t_task < static_cast<int>(tasks_.size())) tasks_[t_task].view.forward_done = true;
}


void TaskRunner::set_parked_remote(bool parked) {
  if (t_task >= 0 && t_task < static_cast<int>(tasks_.size())) tasks_[t_task].view.parked_remote = parked;
}

void TaskRunner::set_awaiting(int stage) {
  if (t_task >= 0 && t_task < static_cast<int>(tasks_.size())) tasks_[t_task].view.awaiting_stage = stage;
}

void TaskRunner::set_phase(int task, core::TaskPhase phase, bool forward_done) {
  if (task < 0 || task >= static_cast<int>(tasks_.size())) return;
  tasks_[task].view.phase = phase;
  tasks_[task].view.forward_done = forward_done;
  tasks_[task].view.parked_remote = false;  // new work arrived: not the return of its own call
}

}  // namespace smp::pipeline
