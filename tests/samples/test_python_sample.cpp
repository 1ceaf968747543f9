// End to end: samples/python_mnist (plain PyTorch, no smp) through smp-local on the small fixture.
#include <catch2/catch_test_macros.hpp>

#include "tests/samples/samples_e2e.h"

using namespace samples_e2e;

TEST_CASE("python_mnist sample through smp-local: Completed, model in model.tar.gz", "[e2e]") {
  if (!python_has_torch())
    SKIP("/usr/bin/python3 cannot import torch and numpy (install python3-torch)");
  JobsDir jobs;
  auto r = smp_local({"run", source("samples/python_mnist/job.json").string(), "--jobs-dir",
                      jobs.path.string(), "--json", "--job-name", "python-mnist-e2e", "-C",
                      "training=" + fixture("fashion-mnist-small").string(), "-H", "epochs=3", "-H",
                      "batch-size=50"},
                     {}, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Json::parse(r.out)["TrainingJobStatus"] == "Completed");
  const fs::path job = jobs.job();
  auto model = tar_listing(job / "output/model.tar.gz");
  CHECK(model.count("model.pt"));
  CHECK(model.count("model.json"));
  Json info = read_json(job / "hosts/algo-1/opt/ml/model/model.json");
  CHECK(info["test_accuracy"].get<double>() >= 50.0);
  CHECK(read_text(job / "logs/algo-1.log").find("epoch 3/3: train_loss=") != std::string::npos);
}
