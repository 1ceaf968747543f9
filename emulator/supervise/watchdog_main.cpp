// smp-local-watchdog: started by `smp-local run` (see supervise/watchdog.h) with the read end of a
// pipe on stdin, which carries the job directory. At EOF, smp-local has ended; every process left
// whose environment holds SMP_LOCAL_JOB_DIR=<job dir> is killed, until none is left. What it has
// to report goes to <job dir>/logs/watchdog.log.

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include "emulator/supervise/process_tree.h"

int main() {
  // smp-local's own stop sequence (SIGTERM to what it started, a Ctrl-C) must not end the watch.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_IGN);
  std::string input;
  char buf[4096];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n > 0)
      input.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  const std::string job_dir = input.substr(0, input.find('\n'));
  if (job_dir.empty() || input.find('\n') == std::string::npos) return 0;  // no job was started
  const std::string entry = "SMP_LOCAL_JOB_DIR=" + job_dir;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int killed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (pid_t pid : smplocal::processes_with_environment(entry)) {
      if (pid == getpid()) continue;
      if (kill(pid, SIGKILL) == 0) ++killed;
      any = true;
    }
    if (!any) {
      if (killed)
        std::ofstream(job_dir + "/logs/watchdog.log", std::ios::app)
            << "smp-local ended without stopping its job: killed " << killed
            << " processes left of it\n";
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ofstream(job_dir + "/logs/watchdog.log", std::ios::app)
      << "smp-local ended without stopping its job, and processes of it survive SIGKILL\n";
  return 1;
}
