// End to end: Failed, Stopped (max_run, SIGINT), invalid specs, the per-host process runner.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "tests/emulator/e2e/cli.h"

using namespace smplocal::e2e;
using Clock = std::chrono::steady_clock;

namespace {
std::string unique_marker() { return "m" + std::to_string(getpid()) + "x" + std::to_string(rand()); }

// Starts `smp-local run` of the behave fixture in the background, its ranks sleeping for a minute.
smplocal::Child start_sleeping_job(const JobsDir& jobs, const std::string& name,
                                   const std::string& marker,
                                   const std::vector<std::string>& extra) {
  smplocal::SpawnOptions o;
  o.argv = {binary().string(),
            "run",
            fixture("jobs/behave/job.json").string(),
            "--jobs-dir",
            jobs.path.string(),
            "-H",
            "sleep=60",
            "-H",
            "marker=" + marker,
            "--job-name",
            name};
  o.argv.insert(o.argv.end(), extra.begin(), extra.end());
  o.capture_stdout = o.capture_stderr = false;
  return smplocal::spawn(o);
}

// Polls until `done` holds or `seconds` pass.
template <typename Done>
void wait_until(Done done, int seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < deadline && !done())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}
}  // namespace

TEST_CASE("a failing rank fails the job quickly, with its reason, leaving no process", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  std::string marker = unique_marker();
  auto start = Clock::now();
  auto r = smp_local({"run", fixture("jobs/behave/job.json").string(), "--jobs-dir", jobs.path.string(), "--json",
                      "-H", "fail-rank=3", "-H", "sleep=60", "-H", "marker=" + marker});
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK(seconds < 15);  // the job itself reports Failed within ~3 s; generous for loaded CI machines
  Json record = Json::parse(r.out);
  CHECK(record["TrainingJobStatus"] == "Failed");
  std::string reason = record["FailureReason"];
  CHECK(reason.rfind("ExecuteUserScriptError:\nExitCode 7\n", 0) == 0);
  CHECK(reason.find("ValueError: rank 3 cannot continue") != std::string::npos);
  CHECK(reason.find("rank 3 on algo-2 exited with status 7") != std::string::npos);
  CHECK(record["SmpLocal"]["failed_host"] == "algo-2");
  CHECK(fs::exists(jobs.job() / "hosts/algo-1/opt/ml/output/failure"));  // written as the toolkit does
  CHECK(fs::exists(jobs.job() / "output/model.tar.gz"));                 // packaged anyway
  CHECK(processes_with(marker) == 0);
}

TEST_CASE("a failure file written by the job wins", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  auto r = smp_local({"run", fixture("jobs/behave/job.json").string(), "--jobs-dir", jobs.path.string(), "--json",
                      "-H", "fail-rank=0", "-H", "user-failure-file=AlgorithmError: my own reason"});
  CHECK(r.exit_code == 3);
  CHECK(Json::parse(r.out)["FailureReason"] == "AlgorithmError: my own reason");
}

TEST_CASE("max_run stops the job: SIGTERM to every rank, then Stopped", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  fs::path trap = jobs.path.string() + "-trap";
  fs::create_directories(trap);
  std::string marker = unique_marker();
  auto r = smp_local({"run", fixture("jobs/behave/job.json").string(), "--jobs-dir", jobs.path.string(), "--json",
                      "--max-run", "2", "--stop-grace", "10", "-H", "sleep=60", "-H", "trap-term=" + trap.string(),
                      "-H", "marker=" + marker});
  INFO(r.err);
  CHECK(r.exit_code == 4);
  Json record = Json::parse(r.out);
  CHECK(record["TrainingJobStatus"] == "Stopped");
  CHECK(record["SecondaryStatus"] == "MaxRuntimeExceeded");
  for (int rank = 0; rank < 4; ++rank) CHECK(fs::exists(trap / ("sigterm-rank-" + std::to_string(rank))));
  CHECK(processes_with(marker) == 0);
  fs::remove_all(trap);
}

TEST_CASE("SIGINT or SIGTERM to smp-local stops the job", "[e2e]") {
  const int sig = GENERATE(SIGINT, SIGTERM);
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  std::string marker = unique_marker();
  smplocal::Child c = start_sleeping_job(jobs, "stop-e2e", marker, {"--stop-grace", "10"});
  fs::path record = jobs.path / "stop-e2e" / "record.json";
  wait_until([&] { return processes_with(marker) >= 5; }, 60);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(c.pid, sig);
  int status = 0;
  waitpid(c.pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 4);
  Json rec = read_json(record);
  CHECK(rec["TrainingJobStatus"] == "Stopped");
  CHECK(rec["SecondaryStatus"] == "Stopped");
  CHECK(processes_with(marker) == 0);
}

TEST_CASE("nothing of a job outlives a SIGKILLed smp-local, not even the ranks' children",
          "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  std::string marker = unique_marker();
  smplocal::Child c =
      start_sleeping_job(jobs, "sigkill-e2e", marker, {"-H", "child-marker=" + marker});
  // Every rank starts a child of its own: 4 grandchildren of mpirun and orted.
  const std::string grandchild = "grandchild:" + marker;
  wait_until([&] { return processes_with(grandchild) >= 4; }, 60);
  const int grandchildren = processes_with(grandchild), marked = processes_with(marker);
  kill(c.pid, SIGKILL);
  waitpid(c.pid, nullptr, 0);
  REQUIRE(grandchildren == 4);
  CHECK(marked >= 9);  // smp-local, mpirun, 4 ranks, 4 grandchildren (and the daemons' children)
  wait_until([&] { return processes_with(marker) == 0; }, 10);
  CHECK(processes_with(marker) == 0);
}

TEST_CASE("an invalid spec: every problem at once, exit 2, nothing written", "[e2e]") {
  JobsDir jobs;
  fs::path spec = jobs.path.string() + "-bad.json";
  std::ofstream(spec) << R"({"entry_point": "nope.py", "source_dir": "/nonexistent-src", "instance_type": "ml.p3.8xlarge",
    "framework_version": "1.13.1", "py_version": "py39", "inputs": {"train": "/nonexistent-data"},
    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 3, "pipeline": "gpipe"}}},
                     "mpi": {"enabled": true, "processes_per_host": 8, "custom_mpi_options": "--mca btl_vader_single_copy_mechanism none"}}})";
  auto r = smp_local({"validate", spec.string(), "--jobs-dir", jobs.path.string(), "--json"});
  CHECK(r.exit_code == 2);
  Json out = Json::parse(r.out);
  CHECK(out["valid"] == false);
  std::string all = out["problems"].dump();
  CHECK(all.find("pipeline must be a value in") != std::string::npos);
  CHECK(all.find("does not exist") != std::string::npos);
  CHECK(all.find("listed multiple times") != std::string::npos);
  CHECK(all.find("cannot be larger than the device count 4") != std::string::npos);
  auto run = smp_local({"run", spec.string(), "--jobs-dir", jobs.path.string()});
  CHECK(run.exit_code == 2);
  CHECK_FALSE(fs::exists(jobs.path));
  fs::remove(spec);
}

TEST_CASE("no distribution: one process per host, tagged by host", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  fs::path spec = jobs.path.string() + "-plain.json";
  std::ofstream(spec) << R"({"entry_point": "behave.py", "source_dir": ")" << fixture("jobs/behave/src").string()
                      << R"(", "instance_type": "ml.m5.xlarge", "instance_count": 2, "framework_version": "1.13.1",
    "py_version": "py39", "job_name": "plain-e2e"})";
  auto r = smp_local({"run", spec.string(), "--jobs-dir", jobs.path.string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("[algo-2]<stdout>:rank 0 on algo-2 done") != std::string::npos);
  CHECK(r.out.find("[algo-1]<stdout>:rank 0 on algo-1 done") != std::string::npos);
  fs::remove(spec);
}

TEST_CASE("no distribution: a failing host fails the job; hosts ignoring SIGTERM are killed", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  fs::path spec = jobs.path.string() + "-plain-fail.json";
  std::ofstream(spec) << R"({"entry_point": "behave.py", "source_dir": ")" << fixture("jobs/behave/src").string()
                      << R"(", "instance_type": "ml.m5.xlarge", "instance_count": 2, "framework_version": "1.13.1",
    "py_version": "py39", "job_name": "plain-fail-e2e"})";
  std::string marker = unique_marker();
  auto r = smp_local({"run", spec.string(), "--jobs-dir", jobs.path.string(), "--json", "--max-run", "60",
                      "--stop-grace", "2", "-H", "fail-host=algo-2", "-H", "fail-after=2", "-H", "sleep=120",
                      "-H", "ignore-term=1",
                      "-H", "marker=" + marker});
  INFO(r.err);
  CHECK(r.exit_code == 3);  // Failed, not Stopped by max_run
  Json record = Json::parse(r.out);
  CHECK(record["TrainingJobStatus"] == "Failed");
  CHECK(record["FailureReason"].get<std::string>().find("ValueError: rank 0 cannot continue") != std::string::npos);
  CHECK(r.err.find("remaining processes were killed (SIGKILL)") != std::string::npos);
  CHECK(processes_with(marker) == 0);
  fs::remove(spec);
}

TEST_CASE("ranks ignoring SIGTERM are killed when the stop grace ends", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  std::string marker = unique_marker();
  auto start = Clock::now();
  auto r = smp_local({"run", fixture("jobs/behave/job.json").string(), "--jobs-dir", jobs.path.string(), "--json",
                      "--max-run", "2", "--stop-grace", "2", "-H", "sleep=120", "-H", "ignore-term=1",
                      "-H", "marker=" + marker});
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  INFO(r.err);
  CHECK(r.exit_code == 4);
  CHECK(Json::parse(r.out)["SecondaryStatus"] == "MaxRuntimeExceeded");
  CHECK(r.err.find("remaining processes were killed (SIGKILL)") != std::string::npos);
  CHECK(seconds < 60);
  CHECK(processes_with(marker) == 0);
}

TEST_CASE("a shell-script entry point that is not executable in the source runs (chmod as the toolkit)", "[e2e]") {
  JobsDir jobs;
  fs::path script = fixture("jobs/trivial/src/noop.sh");
  REQUIRE((fs::status(script).permissions() & fs::perms::owner_exec) == fs::perms::none);
  auto r = smp_local({"run", fixture("jobs/trivial/job.json").string(), "--jobs-dir", jobs.path.string(), "--json"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(Json::parse(r.out)["TrainingJobStatus"] == "Completed");
}

TEST_CASE("plan prints the seed job's rank table", "[e2e]") {
  fs::path spec = fs::temp_directory_path() / ("seed-" + std::to_string(getpid()) + ".json");
  std::ofstream(spec) << R"({"entry_point": "whoami.py", "source_dir": ")" << fixture("jobs/whoami/src").string()
                      << R"(", "instance_type": "ml.p3.16xlarge",
    "framework_version": "1.8.1", "py_version": "py36", "instance_count": 1, "base_job_name": "SMD-MP-demo",
    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 2, "microbatches": 4,
      "placement_strategy": "spread", "pipeline": "interleaved", "optimize": "speed", "ddp": true}}},
      "mpi": {"enabled": true, "processes_per_host": 8}}})";
  auto r = smp_local({"plan", spec.string(), "--json", "--cpu"});
  fs::remove(spec);
  Json plan = Json::parse(r.out)["plan"];
  REQUIRE(plan["ranks"].size() == 8);
  CHECK(plan["ranks"][4]["mp_group"] == Json::parse("[0, 4]"));
  CHECK(plan["ranks"][6]["dp_group"] == Json::parse("[4, 5, 6, 7]"));
  CHECK(plan["mpirun_argv"][2] == "algo-1:8");
}
