// ProcessTree: descendants through /proc, and processes found by an environment entry (what the
// watchdog kills when smp-local dies).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <string>

#include "emulator/common/process.h"
#include "emulator/supervise/process_tree.h"

using namespace smplocal;

TEST_CASE("processes_with_environment finds exactly the processes carrying the entry",
          "[supervise][unit]") {
  const std::string value = "/tmp/job-" + std::to_string(getpid());
  SpawnOptions o;
  o.argv = {"sleep", "30"};
  EnvMap env = current_environment();
  env["SMP_LOCAL_JOB_DIR"] = value;
  o.env = env;
  Child marked = spawn(o);
  env["SMP_LOCAL_JOB_DIR"] = value + "-other";  // a longer value: no prefix match
  o.env = env;
  Child other = spawn(o);

  auto found = processes_with_environment("SMP_LOCAL_JOB_DIR=" + value);
  CHECK(found == std::vector<pid_t>{marked.pid});
  auto kids = descendants(getpid());
  auto is_child = [&](pid_t pid) {
    return std::any_of(kids.begin(), kids.end(),
                       [&](const ProcInfo& p) { return p.pid == pid && p.comm == "sleep"; });
  };
  CHECK(is_child(marked.pid));
  CHECK(is_child(other.pid));

  for (pid_t pid : {marked.pid, other.pid}) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  CHECK(processes_with_environment("SMP_LOCAL_JOB_DIR=" + value).empty());
}
