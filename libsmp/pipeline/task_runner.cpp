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

// The baton: the scheduler waits on `scheduler` while a task runs; a task waits on its worker's
// `go` while parked. Semaphores give the happens-before edges between the two threads.
struct TaskRunner::Baton {
  std::binary_semaphore scheduler{0};
};

// A worker thread, reused across steps (starting threads per microbatch would cost more than a
// small model's forward).
struct TaskRunner::Worker {
  std::thread thread;
  std::binary_semaphore go{0};
  std::function<void()> job;  // set by the scheduler while the worker is idle
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
      job();  // ends by handing the baton back; touch nothing shared after it
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
  tasks_.assign(count, Task{});
  if (options.run_inline || count == 0) {
    run_inline(count, body);
    return;
  }
  inline_ = false;
  comm::Backoff backoff;
  int done = 0;
  while (done < count) {
    try {
      if (options_.progress) options_.progress();
      poll_waits();
    } catch (...) {
      if (!first_error_) first_error_ = std::current_exception();
    }
    if (first_error_) {
      abort_all();
      break;
    }
    // A task whose wait failed (timeout, broken message) resumes first so it can throw.
    int pick = -1;
    for (int i = 0; i < count && pick < 0; ++i)
      if (tasks_[i].resume_error) pick = i;
    if (pick < 0) {
      std::vector<core::TaskView> views(count);
      for (int i = 0; i < count; ++i) views[i] = tasks_[i].view;
      pick = core::pick_next(options_.schedule, views, options_.active_microbatches);
    }
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
    backoff.reset();
    resume(pick);
    if (tasks_[pick].view.phase == core::TaskPhase::kDone) {
      tasks_[pick].worker->busy = false;
      ++done;
    }
  }
  if (first_error_) {
    // Keep no stale waits (their predicates reference task-local state) past the step.
    tasks_.clear();
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

void TaskRunner::task_main(int task, const std::function<void(int)>& body) {
  t_runner = this;
  t_task = task;
  try {
    body(task);
  } catch (const StepAborted&) {
  } catch (...) {
    if (!first_error_) first_error_ = std::current_exception();
  }
  tasks_[task].view.phase = core::TaskPhase::kDone;
  tasks_[task].waiting.reset();
  t_runner = nullptr;
  t_task = -1;
  baton_->scheduler.release();
}

void TaskRunner::resume(int task) {
  Task& t = tasks_[task];
  t.view.runnable = false;
  t.waiting.reset();
  if (t.view.phase == core::TaskPhase::kNotStarted) {
    t.view.phase = core::TaskPhase::kForward;
    Worker& w = idle_worker();
    w.busy = true;
    t.worker = &w;
    w.job = [this, task] { task_main(task, *body_); };
  }
  t.worker->go.release();
  baton_->scheduler.acquire();
}

void TaskRunner::park(int task) {
  baton_->scheduler.release();
  tasks_[task].worker->go.acquire();
  Task& t = tasks_[task];
  if (t.abort) throw StepAborted{};
  if (t.resume_error) {
    std::exception_ptr e = t.resume_error;
    t.resume_error = nullptr;
    std::rethrow_exception(e);
  }
}

void TaskRunner::poll_waits() {
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < static_cast<int>(tasks_.size()); ++i) {
    Task& t = tasks_[i];
    if (!t.waiting || t.view.runnable) continue;
    try {
      if (t.waiting->ready()) {
        t.view.runnable = true;
        continue;
      }
    } catch (...) {
      t.resume_error = std::current_exception();
      t.view.runnable = true;
      continue;
    }
    if (now > t.deadline) {
      t.resume_error = std::make_exception_ptr(TimeoutError(
          options_.context + ", microbatch " + std::to_string(i) + ": " +
          comm::timeout_message(options_.timeout, t.waiting->what)));
      t.view.runnable = true;
    }
  }
}

void TaskRunner::abort_all() {
  for (auto& t : tasks_) {
    if (t.view.phase == core::TaskPhase::kNotStarted || t.view.phase == core::TaskPhase::kDone)
      continue;
    t.abort = true;
    t.worker->go.release();
    baton_->scheduler.acquire();
    t.worker->busy = false;
  }
}

void TaskRunner::wait(Wait wait) {
  const int task = t_task;
  if (inline_) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.timeout);
    comm::Backoff backoff;
    while (!wait.ready()) {
      if (options_.progress) options_.progress();
      if (std::chrono::steady_clock::now() > deadline)
        throw TimeoutError(options_.context + ", microbatch " + std::to_string(task) + ": " +
                           comm::timeout_message(options_.timeout, wait.what));
      backoff.pause();
    }
    return;
  }
  if (wait.ready()) return;  // already here: keep running (no switch needed)
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
  // Always park here: whether this backward runs now is the schedule's decision.
  t.waiting = std::move(wait);
  t.view.runnable = false;
  t.deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.timeout);
  park(task);
}

void TaskRunner::forward_done() {
  if (t_task >= 0 && t_task < static_cast<int>(tasks_.size())) tasks_[t_task].view.forward_done = true;
}

}  // namespace smp::pipeline
