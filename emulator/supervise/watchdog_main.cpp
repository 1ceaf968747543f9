// smp-local-watchdog JOB_DIR: started by `smp-local run` (see supervise/watchdog.h) with the read
// end of a pipe on stdin. At EOF, smp-local has ended; every process left whose environment holds
// SMP_LOCAL_JOB_DIR=JOB_DIR is killed, until none is left.

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "emulator/supervise/process_tree.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: smp-local-watchdog JOB_DIR   (started by smp-local run)\n");
    return 2;
  }
  // smp-local's own stop sequence (SIGTERM to what it started, a Ctrl-C) must not end the watch.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_IGN);
  char buf[64];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  const std::string entry = std::string("SMP_LOCAL_JOB_DIR=") + argv[1];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (pid_t pid : smplocal::processes_with_environment(entry)) {
      if (pid == getpid()) continue;
      kill(pid, SIGKILL);
      any = true;
    }
    if (!any) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "smp-local-watchdog: processes of %s survive SIGKILL\n", argv[1]);
  return 1;
}
