#pragma once
// ProcessTree: the processes a job started, found through /proc (smp-local is a child
// subreaper, so orphans stay in its tree), to signal ranks and to leave nothing behind.

#include <sys/types.h>

#include <string>
#include <vector>

namespace smplocal {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;
};

std::vector<ProcInfo> list_processes();
// Every descendant of `root` (not root itself), parents before children.
std::vector<ProcInfo> descendants(pid_t root);
// Launcher processes (mpirun, orted, the host agent) — signalled last so ranks get SIGTERM first.
bool is_launcher(const ProcInfo& p);
// Sends `sig` to every descendant of root; with ranks_only, skips launcher processes.
int signal_descendants(pid_t root, int sig, bool ranks_only);
// SIGKILLs every descendant of root until none is left (or the deadline passes); reaps ours.
void kill_all_descendants(pid_t root, int timeout_ms = 5000);
// Processes whose initial environment (/proc/PID/environ) holds exactly `entry` ("NAME=value"),
// among those this process may read.
std::vector<pid_t> processes_with_environment(const std::string& entry);

}  // namespace smplocal
