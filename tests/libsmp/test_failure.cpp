// Failure behaviour: a peer that stops answering or dies mid-step makes the whole job fail — the
// surviving rank reports which peer, microbatch and message it waited for and mpirun exits
// non-zero — within the receive timeout, never a silent hang. Runs mpirun itself (argv, no shell).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Outcome {
  int status = -1;  // exit code, or 128 + signal
  double seconds = 0;
  std::string output;
};

Outcome run_job(const std::string& mode, const std::string& timeout_s, int stages = 2,
                const std::string& leader_timeout_s = "") {
  const std::string n = std::to_string(stages);
  std::vector<std::string> args = {SMP_MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", n,
                                   "-x", "SM_HP_MP_PARAMETERS={\"partitions\": " + n +
                                             ", \"microbatches\": 2}",
                                   "-x", "SMP_RECV_TIMEOUT_S=" + timeout_s,
                                   "-x", "SMP_FAILURE_LEADER_TIMEOUT_S=" + leader_timeout_s,
                                   SMP_FAILURE_CHILD, mode};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  std::vector<std::string> env_store = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  REQUIRE(rc == 0);
  Outcome out;
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) out.output.append(buf, n);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

}  // namespace

using Catch::Matchers::ContainsSubstring;

TEST_CASE("a healthy job exits 0", "[failure]") {
  auto r = run_job("none", "30");
  INFO(r.output);
  CHECK(r.status == 0);
}

TEST_CASE("a peer that stops answering fails the job within the timeout, naming it", "[failure]") {
  auto r = run_job("hang", "4");
  INFO(r.output);
  CHECK(r.status != 0);
  CHECK(r.seconds < 60);
  CHECK_THAT(r.output, ContainsSubstring("timed out after 4 s waiting for"));
  CHECK_THAT(r.output, ContainsSubstring("from pipeline stage 1 (global rank 1)"));
  CHECK_THAT(r.output, ContainsSubstring("microbatch"));
  CHECK_THAT(r.output, ContainsSubstring("[smp rank 0] FATAL"));
}

TEST_CASE("when one rank gives up, the others say what they wait for", "[failure]") {
  // Stage 1 of 3 hangs: stage 2 (waiting for its next request) times out after 4 s and asks the
  // others to print where they stand; stage 0 (waiting for the model output, with a timeout of
  // 30 s) says what it waits for.
  auto r = run_job("hang", "4", 3, "30");
  INFO(r.output);
  CHECK(r.status != 0);
  CHECK(r.seconds < 60);
  CHECK_THAT(r.output, ContainsSubstring("asked every rank to print what it waits for"));
  CHECK_THAT(r.output, ContainsSubstring("is ending the job (see its message); this rank waits for: microbatch"));
}

TEST_CASE("a peer killed mid-step fails the job", "[failure]") {
  for (const char* mode : {"kill", "exit"}) {
    auto r = run_job(mode, "4");
    INFO(mode << "\n" << r.output);
    CHECK(r.status != 0);
    CHECK(r.seconds < 60);
  }
}
