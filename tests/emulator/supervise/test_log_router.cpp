// Rebuilding rank lines from mpirun --tag-output, SageMaker's tags, and mpirun's failure report.
#include <catch2/catch_test_macros.hpp>

#include "emulator/supervise/log_router.h"

using namespace smplocal;

namespace {
struct Collected {
  std::vector<LogLine> lines;
  LogRouter router;
  explicit Collected(int ppn) : router(ppn, [this](const LogLine& l) { lines.push_back(l); }) {}
  void feed(const std::string& s, bool err = false) { router.feed(0, "", err, s.data(), s.size()); }
};
}  // namespace

TEST_CASE("tags become [1,mpirank:N,algo-K]", "[log]") {
  Collected c(2);
  c.feed("[1,3]<stdout>:hello\n[1,0]<stdout>:world\n");
  REQUIRE(c.lines.size() == 2);
  CHECK(c.lines[0].text == "[1,mpirank:3,algo-2]<stdout>:hello");
  CHECK(c.lines[0].host == "algo-2");
  CHECK(c.lines[1].text == "[1,mpirank:0,algo-1]<stdout>:world");
}

TEST_CASE("Open MPI 4.1's per-chunk tags and interleaved ranks", "[log]") {
  Collected c(2);
  // What mpirun printed for `print("line one from", r)` on two ranks, split at awkward places.
  std::string raw =
      "[1,1]<stdout>:line one from[1,0]<stdout>:line one from[1,1]<stdout>: [1,1]<stdout>:1[1,1]<stdout>:\n"
      "[1,0]<stdout>: [1,0]<stdout>:0[1,0]<stdout>:\n";
  for (size_t i = 0; i < raw.size(); i += 7) c.feed(raw.substr(i, 7));
  c.router.flush();
  REQUIRE(c.lines.size() == 2);
  CHECK(c.lines[0].text == "[1,mpirank:1,algo-1]<stdout>:line one from 1");
  CHECK(c.lines[1].text == "[1,mpirank:0,algo-1]<stdout>:line one from 0");
}

TEST_CASE("mpirun's own lines pass through untagged", "[log]") {
  Collected c(2);
  c.feed("[1,2]<stdout>:x\n Data for JOB [1234,1] offset 0\n[1,2]<stdout>:y\n");
  REQUIRE(c.lines.size() == 3);
  CHECK(c.lines[1].text == " Data for JOB [1234,1] offset 0");
  CHECK(c.lines[1].host.empty());
}

TEST_CASE("the failing rank from mpirun's report, with its stderr", "[log]") {
  Collected c(2);
  c.feed("[1,3]<stderr>:Traceback (most recent call last):\n[1,3]<stderr>:ValueError: bad\n", true);
  c.feed("mpirun detected that one or more processes exited with non-zero status, thus causing\n"
         "the job to be terminated. The first process to do so was:\n\n"
         "  Process name: [[53941,1],3]\n  Exit code:    7\n", true);
  auto f = c.router.failure();
  REQUIRE(f);
  CHECK(f->rank == 3);
  CHECK(f->exit_code == 7);
  CHECK(f->host == "algo-2");
  CHECK(c.router.stderr_tail(3).back() == "ValueError: bad");

  Collected s(4);
  s.feed("mpirun noticed that process rank 5 with PID 123 on node algo-2 exited on signal 9 (Killed).\n", true);
  REQUIRE(s.router.failure());
  CHECK(s.router.failure()->signal == 9);
  CHECK(s.router.failure()->rank == 5);
}

TEST_CASE("per-host processes are tagged with their host", "[log]") {
  std::vector<LogLine> lines;
  LogRouter r(0, [&](const LogLine& l) { lines.push_back(l); });
  std::string a = "one\ntw", b = "o\n";
  r.feed(1, "algo-2", true, a.data(), a.size());
  r.feed(1, "algo-2", true, b.data(), b.size());
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].text == "[algo-2]<stderr>:two");
  CHECK(r.host_stderr_tail("algo-2").size() == 2);
}
