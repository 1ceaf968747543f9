// End to end through the real CLI: a 2-host × 2-rank job whose ranks record what they see.
#include <catch2/catch_test_macros.hpp>

#include <set>
#include <sstream>

#include "tests/emulator/e2e/cli.h"

using namespace smplocal::e2e;

namespace {

Json rank_record(const fs::path& job, int rank, const std::string& host) {
  fs::path p = job / "hosts" / host / "opt/ml/output/data" / ("rank-" + std::to_string(rank) + ".json");
  REQUIRE(fs::exists(p));
  return read_json(p);
}

std::set<std::string> tar_listing(const fs::path& tarball) {
  auto r = smplocal::run_capture({"tar", "-tzf", tarball.string()});
  REQUIRE(r.exit_code == 0);
  std::set<std::string> names;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) names.insert(line);
  return names;
}

Json sm_of(const Json& env) {
  Json out = Json::object();
  for (auto it = env.begin(); it != env.end(); ++it)
    if (it.key().rfind("SM_", 0) == 0) out[it.key()] = it.value();
  return out;
}

// Names of the SM_* variables whose values differ between two environments.
std::vector<std::string> sm_diff(const Json& a, const Json& b) {
  std::vector<std::string> out;
  Json sa = sm_of(a), sb = sm_of(b);
  for (auto it = sa.begin(); it != sa.end(); ++it)
    if (!sb.contains(it.key()) || sb[it.key()] != it.value()) out.push_back(it.key());
  for (auto it = sb.begin(); it != sb.end(); ++it)
    if (!sa.contains(it.key())) out.push_back(it.key());
  return out;
}

const std::string kHostile = "a b \"c\" 'd' ;$(touch /tmp/smp-pwned-e2e) `id` \\n";

}  // namespace

TEST_CASE("2 hosts x 2 ranks: hostnames, /opt/ml, SM_*, argv, ranks, artifacts", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  fs::remove("/tmp/smp-pwned-e2e");
  JobsDir jobs;
  auto r = smp_local({"run", fixture("jobs/whoami/job.json").string(), "--jobs-dir", jobs.path.string(), "--json",
                      "--job-name", "whoami-e2e", "-H", "weird=" + kHostile});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Json record = Json::parse(r.out);
  CHECK(record["TrainingJobStatus"] == "Completed");
  std::vector<std::string> statuses;
  for (const auto& t : record["SecondaryStatusTransitions"]) statuses.push_back(t["Status"]);
  CHECK(statuses == std::vector<std::string>{"Starting", "Downloading", "Training", "Uploading", "Completed"});
  fs::path job = jobs.job();
  REQUIRE(job.filename() == "whoami-e2e");

  Json master_env = read_json(job / "hosts/algo-1/agent.json")["env"];
  Json expected_argv = Json::parse(R"(["--epochs", "2", "--flags", "fast=True,seed=7", "--layers", "[64, 32]",
                                      "--lr", "0.01", "--note", "hello world", "--weird"])");
  expected_argv.push_back(kHostile);
  for (int rank = 0; rank < 4; ++rank) {
    INFO("rank " << rank);
    std::string host = rank < 2 ? "algo-1" : "algo-2";
    Json rec = rank_record(job, rank, host);
    CHECK(rec["hostname"] == host);
    CHECK(rec["cwd"] == "/opt/ml/code");
    CHECK(rec["env"]["OMPI_COMM_WORLD_LOCAL_RANK"] == std::to_string(rank % 2));
    CHECK(rec["env"]["OMPI_COMM_WORLD_LOCAL_SIZE"] == "2");
    CHECK(rec["env"]["OMPI_COMM_WORLD_SIZE"] == "4");
    CHECK(rec["env"]["CUDA_VISIBLE_DEVICES"] == "");
    CHECK(rec["env"]["CURRENT_HOST"] == host);      // not exported by mpirun: each host's own value
    CHECK(rec["env"]["MASTER_ADDR"] == "algo-1");
    CHECK(rec["argv"] == expected_argv);             // byte-exact, never through a shell
    // The toolkit's mpirun exports the master's SM_* to every rank (as on SageMaker, TK issue #158).
    CHECK(sm_diff(rec["sm"], master_env) == std::vector<std::string>{});
    CHECK(rec["sm"]["SM_CURRENT_HOST"] == "algo-1");
    // The host's own /opt/ml: config files, code, channels (shards: sorted files, i -> host i mod 2).
    std::set<std::string> tree(rec["opt_ml"].begin(), rec["opt_ml"].end());
    for (const char* f : {"input/config/hyperparameters.json", "input/config/resourceconfig.json",
                          "input/config/inputdataconfig.json", "code/whoami.py", "input/data/train/data.csv",
                          "input/data/train/sub/nested.txt", "model", "output/data"})
      CHECK(tree.count(f));
    CHECK_FALSE(tree.count("input/config/checkpointconfig.json"));
    Json shards = rec["channel_files"]["shards"];
    CHECK(shards == (host == "algo-1" ? Json::parse(R"(["part-0.txt", "part-2.txt", "part-4.txt"])")
                                      : Json::parse(R"(["part-1.txt", "part-3.txt"])")));
  }
  Json rc2 = read_json(job / "hosts/algo-2/opt/ml/input/config/resourceconfig.json");
  CHECK(rc2["current_host"] == "algo-2");
  CHECK(rc2["instance_groups"][0]["hosts"] == Json::parse(R"(["algo-1", "algo-2"])"));
  CHECK_FALSE(fs::exists("/tmp/smp-pwned-e2e"));

  // Artifacts: every host's model dir merged; output data of both hosts.
  fs::path out = job / "output";
  auto model = tar_listing(out / "model.tar.gz");
  for (int rank = 0; rank < 4; ++rank) CHECK(model.count("model-rank-" + std::to_string(rank) + ".txt"));
  auto output = tar_listing(out / "output.tar.gz");
  for (int rank = 0; rank < 4; ++rank) CHECK(output.count("rank-" + std::to_string(rank) + ".json"));
  CHECK(record["ModelArtifacts"]["S3ModelArtifacts"] == (out / "model.tar.gz").string());
  CHECK(fs::exists(job / "hosts/algo-2/opt/ml/output/success"));

  // Logs: per host, tagged as SageMaker tags them.
  std::ifstream log2(job / "logs/algo-2.log");
  std::string text((std::istreambuf_iterator<char>(log2)), std::istreambuf_iterator<char>());
  CHECK(text.find("[1,mpirank:2,algo-2]<stdout>:rank 2 of 4 on algo-2") != std::string::npos);
  CHECK(text.find("[1,mpirank:0,") == std::string::npos);

  // describe / list read the record back.
  auto d = smp_local({"describe", "whoami-e2e", "--jobs-dir", jobs.path.string(), "--json"});
  CHECK(d.exit_code == 0);
  CHECK(Json::parse(d.out)["TrainingJobStatus"] == "Completed");
  auto l = smp_local({"list", "--jobs-dir", jobs.path.string(), "--json"});
  CHECK(Json::parse(l.out)["TrainingJobSummaries"].size() == 1);
}

TEST_CASE("host-local SM_* (--host-local-sm-env) gives each host's ranks their own values", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  auto r = smp_local({"run", fixture("jobs/whoami/job.json").string(), "--jobs-dir", jobs.path.string(),
                      "--host-local-sm-env", "--job-name", "whoami-local-sm"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Json rec = rank_record(jobs.job(), 3, "algo-2");
  CHECK(rec["sm"]["SM_CURRENT_HOST"] == "algo-2");
  CHECK(sm_diff(rec["sm"], read_json(jobs.job() / "hosts/algo-2/agent.json")["env"]) == std::vector<std::string>{});
}

TEST_CASE("OMPI_MCA_plm=isolated in the environment does not fold the hosts into algo-1", "[e2e]") {
  // Some container images set it (e.g. the GPU machines this project is tested on); Open MPI would
  // then start every rank next to mpirun, on algo-1, without a daemon on algo-2.
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  auto r = smp_local({"run", fixture("jobs/whoami/job.json").string(), "--jobs-dir",
                      jobs.path.string(), "--job-name", "whoami-isolated"},
                     {{"OMPI_MCA_plm", "isolated"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int rank : {2, 3}) {
    Json rec = rank_record(jobs.job(), rank, "algo-2");
    CHECK(rec["hostname"] == "algo-2");
    CHECK(rec["env"]["OMPI_COMM_WORLD_LOCAL_SIZE"] == "2");
  }
}

TEST_CASE("without namespaces: staged paths and the gethostname preload", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  auto r = smp_local({"run", fixture("jobs/whoami/job.json").string(), "--jobs-dir", jobs.path.string(),
                      "--host-local-sm-env", "--job-name", "whoami-fallback"},
                     {{"SMP_LOCAL_NO_NAMESPACES", "1"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("namespaces are not available here") != std::string::npos);
  fs::path job = jobs.job();
  fs::path rec_path = job / "hosts/algo-2/opt/ml/output/data/rank-3.json";
  REQUIRE(fs::exists(rec_path));
  Json rec = read_json(rec_path);
  CHECK(rec["hostname"] == "algo-2");  // from the LD_PRELOAD shim
  CHECK(rec["sm"]["SM_MODEL_DIR"] == (job / "hosts/algo-2/opt/ml/model").string());
  CHECK(rec["channel_files"]["shards"] == Json::parse(R"(["part-1.txt", "part-3.txt"])"));
}

TEST_CASE("as an unprivileged user, through a user namespace", "[e2e]") {
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  if (getuid() != 0) SKIP("the test drops root privileges with setpriv; run it as root");
  std::vector<std::string> as_nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  auto probe = [&](std::vector<std::string> cmd) {
    cmd.insert(cmd.begin(), as_nobody.begin(), as_nobody.end());
    return smplocal::run_capture(cmd).exit_code == 0;
  };
  if (!probe({"test", "-r", fixture("jobs/whoami/src/whoami.py").string()}) || !probe({"test", "-x", binary().string()}))
    SKIP("the checkout or build is not readable by an unprivileged user (e.g. under a private home directory)");
  if (!probe({"unshare", "--user", "--map-root-user", "--mount", "--uts", "true"}))
    SKIP("this kernel refuses unprivileged user namespaces");
  JobsDir jobs;
  fs::create_directories(jobs.path);
  fs::permissions(jobs.path, fs::perms::all);
  std::vector<std::string> cmd = as_nobody;
  cmd.insert(cmd.end(), {binary().string(), "run", fixture("jobs/whoami/job.json").string(), "--jobs-dir",
                         jobs.path.string(), "--job-name", "whoami-userns"});
  auto r = smplocal::run_capture(cmd, std::chrono::seconds(120));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("namespaces are not available") == std::string::npos);
  Json rec = rank_record(jobs.job(), 3, "algo-2");
  CHECK(rec["hostname"] == "algo-2");
  CHECK(rec["cwd"] == "/opt/ml/code");
}
