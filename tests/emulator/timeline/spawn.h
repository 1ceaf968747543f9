#pragma once
// run_program: runs a program from an argv vector (no shell) and returns its exit status, or -1
// when it could not be started; how the SVG → PNG check calls rsvg-convert.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

extern char** environ;

namespace smplocal::timeline::testing {

// `quiet` sends the program's stdout and stderr to /dev/null (keeps test logs readable).
inline int run_program(const std::vector<std::string>& argv, bool quiet = false) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    return code == 127 ? -1 : code;  // 127: exec failed inside the child
  }
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

inline int run_program_quietly(const std::vector<std::string>& argv) {
  return run_program(argv, true);
}

}  // namespace smplocal::timeline::testing
