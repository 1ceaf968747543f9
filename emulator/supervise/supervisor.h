#pragma once
// Supervisor: runs a job's launcher processes (mpirun on algo-1, or one process per host),
// streams and tags their output, enforces max_run, turns SIGINT/SIGTERM into a graceful stop
// (SIGTERM to every rank, a grace period, then SIGKILL) and leaves no process behind.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "emulator/common/process.h"
#include "emulator/supervise/log_router.h"

namespace smplocal {

struct SupervisedProcess {
  SpawnOptions spawn;     // capture flags are set by the supervisor
  std::string host;       // empty: its output carries mpirun rank tags
};

enum class StopCause { kNone, kMaxRuntime, kSignal };

struct SuperviseOptions {
  std::chrono::seconds max_runtime{24 * 3600};
  std::chrono::seconds stop_grace{120};
  int processes_per_host = 0;        // mpirun's slots per host; 0 for per-host processes
  std::function<void(const LogLine&)> on_line;
  std::function<void(StopCause)> on_stopping;  // status → Stopping
};

struct SuperviseResult {
  int exit_code = 0;                 // first non-zero exit among the processes (0 = all succeeded)
  int signal = 0;                    // when it died on a signal
  StopCause stop = StopCause::kNone;
  bool killed_after_grace = false;
  std::optional<RankFailure> failure;     // mpirun's report of the first failing rank
  std::string failed_host;                // per-host runner: the host that failed first
  std::vector<std::string> stderr_tail;   // last stderr lines of the failing rank/host
  double seconds = 0;
};

// Installs the process-wide state the supervisor needs (child subreaper, blocked stop signals);
// call once early in main, before threads exist.
void prepare_supervision();

SuperviseResult supervise(std::vector<SupervisedProcess> processes, const SuperviseOptions& options);

}  // namespace smplocal
