// End to end with S3 (a local s3rver started by scripts/s3/start-servers.sh): channels of both
// types and distributions across 2 hosts, code uploaded then reused from S3, artifacts and
// checkpoints in S3, credentials kept out of every file and log.
#include <catch2/catch_test_macros.hpp>

#include <cstdlib>

#include "tests/emulator/e2e/cli.h"

using namespace smplocal::e2e;

namespace {

// s3rver 3 knows only its own key id but checks no signature: any secret works, so a distinctive
// one shows whether it leaks anywhere.
const char* kSecret = "s3cr3t-VALUE-never-in-logs";

struct S3Env {
  std::string endpoint, v4_endpoint, awscli, test_key, test_secret;
  bool ok() const { return !endpoint.empty() && !awscli.empty(); }
};

S3Env s3_env() {
  auto get = [](const char* n) { const char* v = std::getenv(n); return std::string(v ? v : ""); };
  return {get("SMP_TEST_S3_ENDPOINT"), get("SMP_TEST_S3V4_ENDPOINT"), get("SMP_TEST_AWSCLI"),
          get("SMP_TEST_S3_ACCESS_KEY_ID"), get("SMP_TEST_S3_SECRET_ACCESS_KEY")};
}

std::vector<std::pair<std::string, std::string>> creds(const char* secret = kSecret) {
  const char* id = std::getenv("SMP_TEST_S3_ACCESS_KEY_ID");
  return {{"AWS_ACCESS_KEY_ID", id ? id : ""}, {"AWS_SECRET_ACCESS_KEY", secret}, {"AWS_REGION", "us-east-1"},
          {"AWS_CONFIG_FILE", "/dev/null"}, {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}};
}

smplocal::RunResult aws(const S3Env& e, std::vector<std::string> args) {
  args.insert(args.begin(), {e.awscli, "--endpoint-url", e.endpoint});
  smplocal::EnvMap env = smplocal::current_environment();
  for (const auto& [k, v] : creds()) env[k] = v;
  env["AWS_PAGER"] = "";
  return smplocal::run_capture(args, std::chrono::seconds(120), env);
}

std::string grep_dir(const fs::path& dir, const std::string& needle) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || fs::file_size(e.path()) > (8 << 20)) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (content.find(needle) != std::string::npos) return e.path().string();
  }
  return "";
}

}  // namespace

TEST_CASE("S3 channels, code, artifacts and checkpoints across 2 hosts", "[e2e][s3]") {
  S3Env e = s3_env();
  if (!e.ok()) SKIP("no S3 test server: run scripts/s3/start-servers.sh (scripts/test.sh does)");
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  std::string bucket = "e2e-" + std::to_string(getpid());
  REQUIRE(aws(e, {"s3", "mb", "s3://" + bucket}).exit_code == 0);
  REQUIRE(aws(e, {"s3", "cp", "--recursive", fixture("data/tiny/shards").string(), "s3://" + bucket + "/data/shards/"}).exit_code == 0);
  REQUIRE(aws(e, {"s3", "cp", "--recursive", fixture("data/tiny/train").string(), "s3://" + bucket + "/data/train/"}).exit_code == 0);
  REQUIRE(aws(e, {"s3", "cp", fixture("data/tiny/train/data.csv").string(), "s3://" + bucket + "/ckpt/seeded.txt"}).exit_code == 0);
  JobsDir jobs;
  fs::path manifest = jobs.path.string() + "-manifest.json";
  std::ofstream(manifest) << R"([{"prefix": "s3://)" << bucket << R"(/data/"}, "train/data.csv", "shards/part-1.txt"])";
  REQUIRE(aws(e, {"s3", "cp", manifest.string(), "s3://" + bucket + "/manifests/m.json"}).exit_code == 0);
  fs::remove(manifest);

  fs::path spec = jobs.path.string() + "-s3.json";
  std::string b = "s3://" + bucket;
  std::ofstream(spec) << R"({"entry_point": "whoami.py", "source_dir": ")" << fixture("jobs/whoami/src").string() << R"(",
    "instance_type": "ml.g4dn.12xlarge", "instance_count": 2, "framework_version": "1.13.1", "py_version": "py39",
    "job_name": "s3-e2e", "distribution": {"mpi": {"enabled": true, "processes_per_host": 1}},
    "inputs": {"train": ")" << b << R"(/data/train",
               "sharded": {"s3_data": ")" << b << R"(/data/shards/", "distribution": "ShardedByS3Key"},
               "manifest": {"s3_data": ")" << b << R"(/manifests/m.json", "s3_data_type": "ManifestFile"},
               "msharded": {"s3_data": ")" << b << R"(/manifests/m.json", "s3_data_type": "ManifestFile", "distribution": "ShardedByS3Key"}},
    "output_path": ")" << b << R"(/out", "checkpoint_s3_uri": ")" << b << R"(/ckpt/"})";
  auto r = smp_local({"run", spec.string(), "--jobs-dir", jobs.path.string(), "--json", "--s3-endpoint", e.endpoint}, creds());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Json record = Json::parse(r.out);
  CHECK(record["ModelArtifacts"]["S3ModelArtifacts"] == b + "/out/s3-e2e/output/model.tar.gz");
  fs::path job = jobs.path / "s3-e2e";
  Json rank1 = read_json(job / "hosts/algo-2/opt/ml/output/data/rank-1.json");
  Json rank0 = read_json(job / "hosts/algo-1/opt/ml/output/data/rank-0.json");
  // S3Prefix without a trailing slash keeps the key's basename (the real service's rule).
  for (const Json* rank : {&rank0, &rank1}) {  // FullyReplicated: every host has every object
    CHECK((*rank)["channel_files"]["train"] == Json::parse(R"(["train", "train/data.csv", "train/sub", "train/sub/nested.txt"])"));
    CHECK((*rank)["channel_files"]["manifest"] == Json::parse(R"(["shards", "shards/part-1.txt", "train", "train/data.csv"])"));
  }
  CHECK(rank0["channel_files"]["sharded"] == Json::parse(R"(["part-0.txt", "part-2.txt", "part-4.txt"])"));
  CHECK(rank1["channel_files"]["sharded"] == Json::parse(R"(["part-1.txt", "part-3.txt"])"));
  CHECK(rank0["channel_files"]["msharded"] == Json::parse(R"(["shards", "shards/part-1.txt"])"));
  CHECK(rank1["channel_files"]["msharded"] == Json::parse(R"(["train", "train/data.csv"])"));
  // The seeded checkpoint reached every host.
  CHECK(fs::exists(job / "hosts/algo-1/opt/ml/checkpoints/seeded.txt"));
  CHECK(fs::exists(job / "hosts/algo-2/opt/ml/checkpoints/seeded.txt"));
  Json hps = read_json(job / "hosts/algo-1/opt/ml/input/config/hyperparameters.json");
  CHECK(hps["sagemaker_submit_directory"] == "\"" + b + "/s3-e2e/source/sourcedir.tar.gz\"");
  auto listing = aws(e, {"s3", "ls", "--recursive", b + "/"}).out;
  CHECK(listing.find("out/s3-e2e/output/model.tar.gz") != std::string::npos);
  CHECK(listing.find("out/s3-e2e/output/output.tar.gz") != std::string::npos);
  CHECK(listing.find("s3-e2e/source/sourcedir.tar.gz") != std::string::npos);

  // A second job runs the code from S3, writes and deletes checkpoints.
  fs::path spec2 = jobs.path.string() + "-s3code.json";
  std::ofstream(spec2) << R"({"entry_point": "behave.py", "source_dir": ")" << b << R"(/s3-e2e/source/sourcedir.tar.gz",
    "instance_type": "ml.g4dn.12xlarge", "instance_count": 2, "framework_version": "1.13.1", "py_version": "py39",
    "job_name": "s3-code-e2e", "distribution": {"mpi": {"enabled": true, "processes_per_host": 1}},
    "hyperparameters": {"write-checkpoint": "ck", "delete-checkpoint": "seeded.txt"},
    "output_path": ")" << b << R"(/out", "checkpoint_s3_uri": ")" << b << R"(/ckpt/"})";
  // behave.py is not in that tarball: the job must fail cleanly, saying what is missing.
  auto bad = smp_local({"run", spec2.string(), "--jobs-dir", jobs.path.string(), "--s3-endpoint", e.endpoint}, creds());
  CHECK(bad.exit_code == 3);

  fs::path src_tar = jobs.path.string() + "-behave.tar.gz";
  REQUIRE(smplocal::run_capture({"tar", "-czf", src_tar.string(), "-C", fixture("jobs/behave/src").string(), "behave.py"}).exit_code == 0);
  REQUIRE(aws(e, {"s3", "cp", src_tar.string(), b + "/code/sourcedir.tar.gz"}).exit_code == 0);
  fs::remove(src_tar);
  std::ofstream(spec2) << R"({"entry_point": "behave.py", "source_dir": ")" << b << R"(/code/sourcedir.tar.gz",
    "instance_type": "ml.g4dn.12xlarge", "instance_count": 2, "framework_version": "1.13.1", "py_version": "py39",
    "job_name": "s3-code-e2e2", "distribution": {"mpi": {"enabled": true, "processes_per_host": 1}},
    "hyperparameters": {"write-checkpoint": "ck", "delete-checkpoint": "seeded.txt"},
    "output_path": ")" << b << R"(/out", "checkpoint_s3_uri": ")" << b << R"(/ckpt/"})";
  auto r2 = smp_local({"run", spec2.string(), "--jobs-dir", jobs.path.string(), "--s3-endpoint", e.endpoint}, creds());
  INFO(r2.err);
  CHECK(r2.exit_code == 0);
  auto ck = aws(e, {"s3", "ls", b + "/ckpt/"}).out;
  CHECK(ck.find("ck-rank-0") != std::string::npos);
  CHECK(ck.find("ck-rank-1") != std::string::npos);
  CHECK(ck.find("seeded.txt") == std::string::npos);  // deleted on algo-1: mirrored
  fs::remove(spec);
  fs::remove(spec2);

  // The secret appears nowhere: job directories, logs, describe output, smp-local's own output.
  CHECK(grep_dir(jobs.path, kSecret) == "");
  CHECK(r.err.find(kSecret) == std::string::npos);
  auto d = smp_local({"describe", "s3-e2e", "--jobs-dir", jobs.path.string(), "--json"});
  CHECK(d.out.find(kSecret) == std::string::npos);
}

TEST_CASE("a channel key escaping its directory fails the job before anything is written", "[e2e][s3]") {
  S3Env e = s3_env();
  if (!e.ok()) SKIP("no S3 test server: run scripts/s3/start-servers.sh (scripts/test.sh does)");
  std::string bucket = "trav-" + std::to_string(getpid());
  REQUIRE(aws(e, {"s3", "mb", "s3://" + bucket}).exit_code == 0);
  REQUIRE(aws(e, {"s3", "cp", "--recursive", fixture("data/tiny/train").string(), "s3://" + bucket + "/data/train/"}).exit_code == 0);
  JobsDir jobs;
  fs::path manifest = jobs.path.string() + "-bad-manifest.json";
  std::ofstream(manifest) << R"([{"prefix": "s3://)" << bucket << R"(/data/"}, "train/data.csv", "../../../etc/cron.d/x"])";
  REQUIRE(aws(e, {"s3", "cp", manifest.string(), "s3://" + bucket + "/manifests/bad.json"}).exit_code == 0);
  fs::remove(manifest);
  fs::path spec = jobs.path.string() + "-trav.json";
  std::string b = "s3://" + bucket;
  // The good channel comes first: it must not be downloaded either.
  std::ofstream(spec) << R"({"entry_point": "whoami.py", "source_dir": ")" << fixture("jobs/whoami/src").string() << R"(",
    "instance_type": "ml.g4dn.12xlarge", "instance_count": 2, "framework_version": "1.13.1", "py_version": "py39",
    "job_name": "trav-e2e", "distribution": {"mpi": {"enabled": true, "processes_per_host": 1}},
    "inputs": {"a-good": ")" << b << R"(/data/train/",
               "b-bad": {"s3_data": ")" << b << R"(/manifests/bad.json", "s3_data_type": "ManifestFile"}},
    "output_path": ")" << b << R"(/out"})";
  auto r = smp_local({"run", spec.string(), "--jobs-dir", jobs.path.string(), "--json", "--s3-endpoint", e.endpoint,
                      "--s3-concurrency", "2"}, creds());
  INFO(r.err);
  CHECK(r.exit_code == 3);
  Json record = Json::parse(r.out);
  CHECK(record["TrainingJobStatus"] == "Failed");
  CHECK(record["FailureReason"].get<std::string>().find("../../../etc/cron.d/x") != std::string::npos);
  fs::path job = jobs.path / "trav-e2e";
  CHECK_FALSE(fs::exists(job / "hosts"));
  CHECK_FALSE(fs::exists(job / "data"));
  CHECK_FALSE(fs::exists(job / "code"));
  // Nor was the source uploaded.
  CHECK(aws(e, {"s3", "ls", "--recursive", b + "/"}).out.find("trav-e2e") == std::string::npos);
  fs::remove(spec);
}

TEST_CASE("a wrong secret fails the job with an authentication error, not the secret", "[e2e][s3]") {
  S3Env e = s3_env();
  if (!e.ok() || e.v4_endpoint.empty()) SKIP("no SigV4-verifying S3 test server: run scripts/s3/start-servers.sh");
  if (!python_available()) SKIP("/usr/bin/python3 is needed for the fixture entry point");
  JobsDir jobs;
  fs::path spec = jobs.path.string() + "-auth.json";
  std::ofstream(spec) << R"({"entry_point": "behave.py", "source_dir": ")" << fixture("jobs/behave/src").string() << R"(",
    "instance_type": "ml.m5.xlarge", "framework_version": "1.13.1", "py_version": "py39", "job_name": "auth-e2e",
    "inputs": {"train": "s3://no-such-bucket-e2e/data/"}})";
  auto r = smp_local({"run", spec.string(), "--jobs-dir", jobs.path.string(), "--json", "--s3-endpoint", e.v4_endpoint},
                     creds("definitely-the-wrong-secret"));
  fs::remove(spec);
  CHECK(r.exit_code == 3);
  Json record = Json::parse(r.out);
  std::string reason = record["FailureReason"];
  CHECK(reason.find(e.v4_endpoint.substr(7)) != std::string::npos);  // names the endpoint
  CHECK(reason.find(e.test_key) != std::string::npos);               // and the key id
  CHECK(reason.find("definitely-the-wrong-secret") == std::string::npos);
  CHECK(grep_dir(jobs.path, "definitely-the-wrong-secret") == "");
}
