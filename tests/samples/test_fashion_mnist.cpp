// End to end: samples/fashion_mnist/job.json (8 ranks, 2 stages x 4 replicas) on the small fixture.
#include <catch2/catch_test_macros.hpp>

#include "tests/samples/samples_e2e.h"

using namespace samples_e2e;

TEST_CASE(
    "fashion_mnist sample through smp-local: Completed, accuracy, model, checkpoints, timeline",
    "[e2e]") {
  if (fashion_mnist_bin().empty()) SKIP(kNoTorch);
  JobsDir jobs;
  const int epochs = 4;
  // The sample's own job.json, unchanged except for the code (this build), the data (the small
  // fixture) and a shorter schedule: 1000 images / 4 replicas / 32 per batch = 7 steps per epoch.
  auto r = smp_local({"run",
                      source("samples/fashion_mnist/job.json").string(),
                      "--jobs-dir",
                      jobs.path.string(),
                      "--json",
                      "--job-name",
                      "fashion-mnist-e2e",
                      "--source-dir",
                      fashion_mnist_bin(),
                      "-C",
                      "training=" + fixture("fashion-mnist-small").string(),
                      "-H",
                      "epochs=" + std::to_string(epochs),
                      "-H",
                      "batch-size=32",
                      "-H",
                      "test-batch-size=100",
                      "-H",
                      "lr=0.003",
                      "-H",
                      "log-interval=5"},
                     {}, 900);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Json record = Json::parse(r.out);
  CHECK(record["TrainingJobStatus"] == "Completed");
  const fs::path job = jobs.job();
  const fs::path opt_ml = job / "hosts/algo-1/opt/ml";

  // Metrics: one entry per epoch, the test subset evaluated (each replica's 125 images less the
  // remainder of its last batch that does not split into 4 microbatches), accuracy far above
  // chance (10 %).
  const fs::path metrics_file = opt_ml / "output/data/metrics.json";
  REQUIRE(fs::exists(metrics_file));
  Json metrics = read_json(metrics_file);
  INFO(metrics.dump(2));
  REQUIRE(metrics["epochs"].size() == static_cast<size_t>(epochs));
  CHECK(metrics["epochs"].back()["test_samples"] == 4 * (125 - 125 % 4));
  CHECK(metrics["test_accuracy"].get<double>() >= 50.0);
  CHECK(metrics["epochs"].back()["train_loss"].get<double>() <
        metrics["epochs"].front()["train_loss"].get<double>());
  // The same figures on rank 0's log line (what a user or a SageMaker metric regex reads).
  std::string log = read_text(job / "logs/algo-1.log");
  CHECK(log.find("<stdout>:epoch " + std::to_string(epochs) + "/" + std::to_string(epochs) +
                 ": train_loss=") != std::string::npos);
  CHECK(log.find("test_accuracy=") != std::string::npos);

  // Artifacts: the full model in model.tar.gz, the metrics in output.tar.gz.
  CHECK(tar_listing(job / "output/model.tar.gz").count("model.pt"));
  CHECK(tar_listing(job / "output/output.tar.gz").count("metrics.json"));

  // Partial checkpoints of the last two epochs (num-kept-checkpoints 2), one file per stage.
  const fs::path ckpt = opt_ml / "checkpoints";
  REQUIRE(fs::exists(ckpt / "newest"));
  CHECK(read_text(ckpt / "newest").find("epoch_" + std::to_string(epochs)) != std::string::npos);
  for (int e : {epochs - 1, epochs}) {
    fs::path dir = ckpt / ("epoch_" + std::to_string(e) + "_partial");
    INFO(dir);
    for (const char* f : {"model_pp0_tp0.pt", "model_pp1_tp0.pt", "optimizer_pp0_tp0.pt",
                          "optimizer_pp1_tp0.pt", "user_content.pt"})
      CHECK(fs::is_regular_file(dir / f));
  }
  CHECK_FALSE(fs::exists(ckpt / "epoch_1_partial"));

  // libsmp's traces, one per rank, and the timeline smp-local merged from them.
  for (int rank = 0; rank < 8; ++rank)
    CHECK(
        fs::is_regular_file(job / "trace/ranks" / ("trace-rank" + std::to_string(rank) + ".json")));
  CHECK(fs::is_regular_file(job / "trace/timeline.json"));
  CHECK(fs::is_regular_file(job / "trace/timeline.svg"));

  // PyTorch reads the model file: every parameter of both stages, full shapes.
  if (!python_has_torch()) return;
  auto py = smplocal::run_capture(
      {"/usr/bin/python3", "-c",
       "import sys, torch\n"
       "d = torch.load(sys.argv[1])\n"
       "print(sorted((k, tuple(v.shape)) for k, v in d.items() if isinstance(v, torch.Tensor)))\n",
       (opt_ml / "model/model.pt").string()},
      std::chrono::seconds(120));
  INFO(py.err);
  REQUIRE(py.exit_code == 0);
  CHECK(py.out.find("('net1.conv1.weight', (16, 1, 3, 3))") != std::string::npos);
  CHECK(py.out.find("('net2.fc2.weight', (10, 64))") != std::string::npos);
}
