#include "emulator/supervise/watchdog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "emulator/common/error.h"
#include "emulator/common/process.h"
#include "emulator/run/job_runner.h"

namespace smplocal {

JobWatchdog::JobWatchdog(const std::filesystem::path& job_dir) {
  int fds[2];
  // Close-on-exec on both ends: no program this process starts may hold the write end open.
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error("pipe: " + std::string(std::strerror(errno)));
  SpawnOptions o;
  o.argv = {(tools_dir() / "smp-local-watchdog").string(), job_dir.string()};
  o.stdin_fd = fds[0];
  o.new_process_group = true;  // a Ctrl-C in the terminal is smp-local's to handle, not its
  try {
    spawn(o);
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  close(fds[0]);
  write_fd_ = fds[1];
}

JobWatchdog::~JobWatchdog() {
  if (write_fd_ >= 0) close(write_fd_);
}

}  // namespace smplocal
