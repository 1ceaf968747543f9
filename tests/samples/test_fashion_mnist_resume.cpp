// End to end: the fashion_mnist sample resumes from its checkpoints as a SageMaker job does after
// an interruption (checkpoint_s3_uri synced into the checkpoint directory), and the resumed epochs
// equal the uninterrupted run's.
#include <catch2/catch_test_macros.hpp>

#include "tests/samples/samples_e2e.h"

using namespace samples_e2e;

namespace {

// samples/fashion_mnist/job.json on the small fixture with this build's code, plus checkpoints
// kept in `checkpoints` (a local "S3" location) when it is not empty.
fs::path write_spec(const fs::path& dir, const std::string& name, const fs::path& checkpoints) {
  Json spec = read_json(source("samples/fashion_mnist/job.json"));
  spec["source_dir"] = fashion_mnist_bin();
  spec["inputs"]["training"] = fixture("fashion-mnist-small").string();
  spec["hyperparameters"]["batch-size"] = 32;
  spec["hyperparameters"]["test-batch-size"] = 100;
  spec["hyperparameters"]["lr"] = 0.003;
  if (!checkpoints.empty()) {
    spec["checkpoint_s3_uri"] = checkpoints.string();
    spec["checkpoint_local_path"] = "/opt/ml/checkpoints/smp";  // read from checkpointconfig.json
  }
  fs::create_directories(dir);
  fs::path file = dir / (name + ".json");
  std::ofstream(file) << spec.dump(2);
  return file;
}

Json run_epochs(const JobsDir& jobs, const fs::path& spec, const std::string& name, int epochs) {
  auto r = smp_local({"run", spec.string(), "--jobs-dir", (jobs.path / "jobs").string(), "--json",
                      "--job-name", name, "-H", "epochs=" + std::to_string(epochs)},
                     {}, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(Json::parse(r.out)["TrainingJobStatus"] == "Completed");
  return read_json(jobs.path / "jobs" / name / "hosts/algo-1/opt/ml/output/data/metrics.json");
}

}  // namespace

TEST_CASE("fashion_mnist sample resumes from its partial checkpoints", "[e2e]") {
  if (fashion_mnist_bin().empty()) SKIP(kNoTorch);
  JobsDir jobs;
  const fs::path checkpoints = jobs.path / "checkpoints";
  Json whole = run_epochs(jobs, write_spec(jobs.path, "whole", {}), "fmnist-whole", 3);
  const fs::path spec = write_spec(jobs.path, "resumable", checkpoints);
  Json first = run_epochs(jobs, spec, "fmnist-first", 2);
  CHECK(first["epochs"].size() == 2);
  // The checkpoints came back to the location, from the LocalPath in checkpointconfig.json.
  REQUIRE(fs::exists(checkpoints / "newest"));
  CHECK(fs::is_regular_file(checkpoints / "epoch_2_partial/model_pp1_tp0.pt"));

  Json resumed = run_epochs(jobs, spec, "fmnist-resumed", 3);
  CHECK(read_text(jobs.path / "jobs/fmnist-resumed/logs/algo-1.log").find("after epoch 2") !=
        std::string::npos);
  REQUIRE(resumed["epochs"].size() == 1);
  const Json& e3 = resumed["epochs"][0];
  const Json& w3 = whole["epochs"][2];
  CHECK(e3["epoch"] == 3);
  INFO("resumed " << e3.dump() << "\nwhole   " << w3.dump());
  CHECK(e3["test_loss"].get<double>() == w3["test_loss"].get<double>());
  CHECK(e3["train_loss"].get<double>() == w3["train_loss"].get<double>());
  CHECK(e3["test_accuracy"] == w3["test_accuracy"]);
  CHECK(fs::exists(checkpoints / "epoch_3_partial"));
}
