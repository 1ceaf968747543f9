// Pre-flight checks against the API's constraints and the file system; hostile inputs.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>

#include "emulator/preflight/checks.h"
#include "tests/emulator/support.h"

using namespace smplocal;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p, const std::string& content = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

Problems check(const TempDir& dir, const std::string& json) {
  Problems p;
  TrainingJob job = parse_estimator(Json::parse(json), {}, test_context(dir.path), p);
  for (auto& q : check_job(job)) p.push_back(q);
  return p;
}

}  // namespace

TEST_CASE("a good job passes", "[preflight]") {
  TempDir d;
  touch(d.path / "src/train.py");
  touch(d.path / "data/a.csv");
  Problems p = check(d, R"({"entry_point": "train.py", "source_dir": "src", "instance_type": "ml.p3.2xlarge",
      "image_uri": "x", "inputs": {"train": "data"}})");
  CHECK_FALSE(smp::core::has_errors(p));
}

TEST_CASE("missing channel paths and entry points", "[preflight]") {
  TempDir d;
  touch(d.path / "src/other.py");
  Problems p = check(d, R"({"entry_point": "train.py", "source_dir": "src", "instance_type": "ml.p3.2xlarge",
      "image_uri": "x", "inputs": {"train": "nowhere"}})");
  CHECK(has_message(p, "Invalid data source: " + (d.path / "nowhere").string() + " does not exist."));
  CHECK(has_message_containing(p, "entry_point \"train.py\" was not found in source_dir"));
  Problems q = check(d, R"({"entry_point": "train.py", "source_dir": "gone", "instance_type": "ml.p3.2xlarge", "image_uri": "x"})");
  CHECK(has_message_containing(q, "does not exist"));
}

TEST_CASE("hostile paths: .., symlinks out of source_dir, channel names", "[preflight]") {
  TempDir d;
  touch(d.path / "src/train.py");
  touch(d.path / "secret.txt");
  fs::create_symlink(d.path / "secret.txt", d.path / "src/leak.txt");
  fs::create_symlink("../secret.txt", d.path / "src/leak2.txt");
  fs::create_symlink("train.py", d.path / "src/ok-link.py");
  Problems p = check(d, R"({"entry_point": "../secret.txt", "source_dir": "src", "instance_type": "ml.p3.2xlarge",
      "image_uri": "x", "inputs": {"..": "src", "a/b": "src"}})");
  CHECK(has_message(p, "entry_point \"../secret.txt\" must be a path inside source_dir."));
  int links = 0;
  for (const auto& q : p) links += q.message.rfind("symlink out of source_dir", 0) == 0;
  CHECK(links == 2);  // leak.txt and leak2.txt, not ok-link.py
  CHECK(has_message_containing(p, "invalid channel name \"..\""));
  CHECK(has_message_containing(p, "invalid channel name \"a/b\""));
  CHECK_FALSE(valid_channel_name("."));
  CHECK(valid_channel_name("train-data_v1.2"));
}

TEST_CASE("API constraints and what is not emulated", "[preflight]") {
  TempDir d;
  touch(d.path / "t.py");
  Problems p = check(d, R"({"entry_point": "t.py", "instance_type": "ml.p9.mega", "image_uri": "x", "max_run": 3000000,
      "inputs": {"train": {"s3_data": "s3://b/p", "input_mode": "Pipe"}, "m": {"s3_data": "s3://b/m", "s3_data_type": "AugmentedManifestFile"}},
      "hyperparameters": {"long": ")" + std::string(2600, 'x') + R"("}})");
  CHECK(has_message(p, "unknown instance type \"ml.p9.mega\"."));
  CHECK(has_message(p, "MaxRuntimeInSeconds is at most 2419200 (28 days)."));
  CHECK(has_message(p, "Pipe input mode is not emulated by smp-local."));
  CHECK(has_message_containing(p, "AugmentedManifestFile is not emulated"));
  CHECK(has_message_containing(p, "hyperparameter values are at most 2500 characters"));
  Problems local = check(d, R"({"entry_point": "t.py", "instance_type": "local_gpu", "image_uri": "x"})");
  CHECK(has_message_containing(local, "is SDK local mode"));
}

TEST_CASE("checkpoint paths must stay under /opt/ml", "[preflight]") {
  TempDir d;
  touch(d.path / "t.py");
  Problems p = check(d, R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
      "checkpoint_s3_uri": "s3://b/ck", "checkpoint_local_path": "/tmp/ck"})");
  CHECK(has_message_containing(p, "checkpoint paths under /opt/ml only"));
}
