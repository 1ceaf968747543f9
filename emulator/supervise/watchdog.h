#pragma once
// JobWatchdog: makes sure nothing of a job outlives smp-local, even when smp-local is SIGKILLed,
// killed by the OOM killer or crashes, when it cannot clean up itself. Ranks are children of
// mpirun and orted, which have no say over them once they die: without this, the ranks of algo-1
// kept running after a `kill -9` of smp-local (and held their GPUs).
//
// It starts smp-local-watchdog with the read end of a pipe whose write end only this process
// holds; the kernel closes it however this process ends, and the watchdog then kills every
// process whose environment holds SMP_LOCAL_JOB_DIR=<job dir>, which every process of the job
// inherits. After a normal end it finds nothing and exits at once.

#include <sys/types.h>

#include <filesystem>

namespace smplocal {

class JobWatchdog {
 public:
  // Throws smplocal::Error when the watchdog cannot be started.
  explicit JobWatchdog(const std::filesystem::path& job_dir);
  ~JobWatchdog();  // this process is done with the job: the watchdog checks and exits
  JobWatchdog(const JobWatchdog&) = delete;
  JobWatchdog& operator=(const JobWatchdog&) = delete;

 private:
  int write_fd_ = -1;
};

}  // namespace smplocal
