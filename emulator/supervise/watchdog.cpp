#include "emulator/supervise/watchdog.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "emulator/common/error.h"
#include "emulator/run/job_runner.h"

namespace smplocal {

JobWatchdog::JobWatchdog() {
  const std::string program = (tools_dir() / "smp-local-watchdog").string();
  if (access(program.c_str(), X_OK) != 0)
    throw Error("cannot run " + program + ": " + std::strerror(errno),
                "Rebuild smp-local (scripts/build.sh).");
  int fds[2];
  // Close-on-exec on both ends: no program this process starts may hold the write end open.
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error("pipe: " + std::string(std::strerror(errno)));
  char* argv[] = {const_cast<char*>("smp-local-watchdog"), nullptr};
  // Fork twice: the watchdog is re-parented away from us, in a session of its own (a Ctrl-C in
  // the terminal is smp-local's to handle), with no terminal output to hold open.
  pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    throw Error("fork: " + std::string(std::strerror(errno)));
  }
  if (child == 0) {
    setsid();
    if (fork() == 0) {
      dup2(fds[0], 0);
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
      }
      execv(program.c_str(), argv);
    }
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  close(fds[0]);
  write_fd_ = fds[1];
}

void JobWatchdog::watch(const std::filesystem::path& job_dir) {
  const std::string line = job_dir.string() + "\n";  // one write below PIPE_BUF: atomic
  if (write(write_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    throw Error("cannot reach smp-local-watchdog: " + std::string(std::strerror(errno)));
}

JobWatchdog::~JobWatchdog() {
  if (write_fd_ >= 0) close(write_fd_);
}

}  // namespace smplocal
