#pragma once
// JobWatchdog: makes sure nothing of a job outlives smp-local, even when smp-local is SIGKILLed,
// killed by the OOM killer or crashes, when it cannot clean up itself. Ranks are children of
// mpirun and orted, which have no say over them once they die: without this, the ranks of algo-1
// kept running after a `kill -9` of smp-local (and held their GPUs).
//
// smp-local-watchdog is started first thing, outside smp-local's process tree (so supervision
// never waits for it or signals it), with the read end of a pipe whose write end only smp-local
// holds. watch() sends it the job directory. However smp-local ends, the kernel closes the pipe;
// the watchdog then kills every process whose environment holds SMP_LOCAL_JOB_DIR=<job dir>,
// which every process of the job inherits. After a normal end it finds nothing and exits at once.

#include <filesystem>

namespace smplocal {

class JobWatchdog {
 public:
  // Call while this process is single-threaded and before it becomes a child subreaper (the
  // watchdog must not be re-parented to it). Throws smplocal::Error when it cannot be started.
  JobWatchdog();
  ~JobWatchdog();  // this process is done with the job: the watchdog checks and exits
  JobWatchdog(const JobWatchdog&) = delete;
  JobWatchdog& operator=(const JobWatchdog&) = delete;

  // The job to clean up after; call before anything of it is started.
  void watch(const std::filesystem::path& job_dir);

 private:
  int write_fd_ = -1;
};

}  // namespace smplocal
