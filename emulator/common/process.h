#pragma once
// Process: spawning programs from argv vectors (never through a shell) and small helpers to
// run one and capture its output.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smplocal {

using EnvMap = std::map<std::string, std::string>;

// How to start a child process.
struct SpawnOptions {
  std::vector<std::string> argv;             // argv[0] is looked up in PATH when it has no '/'
  std::optional<EnvMap> env;                 // whole environment; nullopt = inherit ours
  std::string cwd;                           // empty = ours
  bool capture_stdout = false;               // pipe the child's stdout to us
  bool capture_stderr = false;               // pipe the child's stderr to us
  bool stdin_null = true;                    // stdin from /dev/null
  int stdin_fd = -1;                         // >= 0: this descriptor is the child's stdin instead
  bool new_process_group = false;            // setpgid(0, 0)
  bool die_with_parent = false;              // PR_SET_PDEATHSIG(SIGKILL)
};

// A started child: its pid and the read ends of the captured pipes (-1 when not captured).
struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Throws smplocal::Error when the program cannot be started (not found, not executable).
Child spawn(const SpawnOptions& options);

// Result of run_capture.
struct RunResult {
  int exit_code = -1;     // -1 when killed by a signal or timed out
  int signal = 0;
  bool timed_out = false;
  std::string out;        // stdout (and stderr when merged)
  std::string err;
};

// Runs argv to completion (optionally with a timeout), capturing stdout and stderr.
RunResult run_capture(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      const std::optional<EnvMap>& env = std::nullopt, const std::string& cwd = "");

// Full path of an executable found in PATH, or empty.
std::string which(const std::string& name);

// The current process environment as a map.
EnvMap current_environment();

// Converts an exit status from waitpid into (exit code, signal).
void decode_wait_status(int status, int& exit_code, int& signal);

}  // namespace smplocal
