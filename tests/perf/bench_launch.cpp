// bench_launch: the cost of smp-local around a job (issue 2: <= 1.15x). A trivial 2-host x 2-rank
// job (fixtures/jobs/trivial: `exit 0`) is run (a) through `smp-local run` — spec, pre-flight,
// staging, the host agent on algo-1 launching mpirun, mpirun reaching algo-2 through the agent,
// supervision, packaging, record — and (b) by hand: the very mpirun argv smp-local ran (from its
// plan.json), started through the same host agent on the same staged job directory. Also shown,
// for reference: (c) a plain single-node `mpirun -np 4` of the same program, which emulates no
// hosts at all. Runs alternate; medians of --runs (default 21: a single mpirun varies by ±10 % on a
// shared VM) are compared, and the fastest runs as a second view. Job directories go
// under --jobs-parent (default the temp dir): smp-local's own cost is mostly file-system work
// (staging, records, packaging), so it depends on that file system's latency.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "emulator/common/fs.h"
#include "emulator/common/process.h"
#include "libsmp/core/json.h"

namespace fs = std::filesystem;
using smplocal::run_capture;
using Clock = std::chrono::steady_clock;

namespace {

double timed(const std::vector<std::string>& argv, const smplocal::EnvMap& env, const std::string& cwd = "") {
  auto t0 = Clock::now();
  auto r = run_capture(argv, std::chrono::seconds(120), env, cwd);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (r.exit_code != 0) {
    std::fprintf(stderr, "command failed (%d): %s\n%s\n", r.exit_code, argv[0].c_str(), r.err.c_str());
    std::exit(1);
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 21;
  fs::path jobs_parent = fs::temp_directory_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
    else if (std::string(argv[i]) == "--jobs-parent") jobs_parent = argv[i + 1];
  }
  fs::path bin = fs::path(SMP_BINARY_DIR) / "bin";
  fs::path spec = fs::path(SMP_SOURCE_DIR) / "fixtures/jobs/trivial/job.json";
  fs::path jobs = jobs_parent / ("bench-launch-" + std::to_string(getpid()));
  smplocal::EnvMap env = smplocal::current_environment();

  // One run to get the staged job and its exact mpirun argv.
  timed({(bin / "smp-local").string(), "run", spec.string(), "--jobs-dir", jobs.string(), "--job-name", "warmup"}, env);
  auto plan = smp::core::Json::parse(smplocal::read_file(jobs / "warmup/plan.json"));
  std::vector<std::string> by_hand = {(bin / "smp-local-host-agent").string(), "--exec", "algo-1", "--cwd", "/opt/ml/code", "--"};
  for (const auto& a : plan["mpirun_argv"]) by_hand.push_back(a.get<std::string>());
  smplocal::EnvMap hand_env = env;
  hand_env["SMP_LOCAL_JOB_DIR"] = (jobs / "warmup").string();
  std::vector<std::string> plain = {"mpirun", "-np", "4", "--oversubscribe", "--bind-to", "none", "--allow-run-as-root",
                                    "/bin/sh", "noop.sh"};
  fs::path code = fs::path(SMP_SOURCE_DIR) / "fixtures/jobs/trivial/src";

  std::vector<double> a, b, c;
  for (int i = 0; i < runs; ++i) {
    a.push_back(timed({(bin / "smp-local").string(), "run", spec.string(), "--jobs-dir", jobs.string(), "--job-name",
                       "run-" + std::to_string(i)}, env));
    b.push_back(timed(by_hand, hand_env));
    c.push_back(timed(plain, env, code.string()));
  }
  fs::remove_all(jobs);
  double ma = median(a), mb = median(b), mc = median(c);
  std::printf("launch overhead, trivial 2-host x 2-rank job, median of %d runs, jobs under %s\n", runs,
              jobs_parent.c_str());
  std::printf("  (a) smp-local run (everything)                 %7.3f s\n", ma);
  std::printf("  (b) the same mpirun by hand (2 emulated hosts)  %7.3f s\n", mb);
  std::printf("  (c) plain mpirun -np 4 (one node, reference)    %7.3f s\n", mc);
  std::printf("  ratio a/b = %.2fx   (target <= 1.15x)\n", ma / mb);
  std::printf("  fastest runs: a %.3f s, b %.3f s, ratio %.2fx\n",
              *std::min_element(a.begin(), a.end()), *std::min_element(b.begin(), b.end()),
              *std::min_element(a.begin(), a.end()) / *std::min_element(b.begin(), b.end()));
  std::printf("  ratio a/c = %.2fx   (reference only)\n", ma / mc);
  return 0;
}
