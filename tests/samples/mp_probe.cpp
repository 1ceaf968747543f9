// mp_probe: the entry point of the samples' 2-host test job. It calls smp::init() exactly as a
// training script does (configuration from SM_HP_MP_PARAMETERS), trains a tiny 2-stage model for
// a few steps, and records per rank what smp::init read, where the rank sits, and a checksum of
// its stage's parameters — so the test can compare the configuration with the job's
// hyperparameters.json and the data-parallel replicas with each other.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "libsmp/smp.h"

int main() {
  try {
    at::set_num_threads(1);
    smp::init();
    const smp::Json& params = smp::mp_parameters();
    std::printf("rank %d: mp_parameters seen by smp::init: %s\n", smp::rank(),
                params.dump().c_str());
    std::fflush(stdout);

    torch::manual_seed(3);
    torch::nn::Sequential net(torch::nn::Linear(8, 16), torch::nn::Tanh(),
                              torch::nn::Linear(16, 16), torch::nn::Tanh(),
                              torch::nn::Linear(16, 4));
    smp::DistributedModel model(net);
    smp::DistributedOptimizer optimizer(
        std::make_shared<torch::optim::SGD>(model.parameters(), torch::optim::SGDOptions(0.1)));
    const int batch = 4 * params.value("microbatches", 1);
    double last_loss = 0;
    for (int s = 0; s < 3; ++s) {
      // Different data on every replica: identical parameters afterwards come from DDP's averaging.
      auto gen = at::detail::createCPUGenerator(100 * s + smp::dp_rank());
      at::Tensor x = at::randn({batch, 8}, gen), y = at::randn({batch, 4}, gen);
      optimizer.zero_grad();
      smp::StepResult out = smp::step(
          [&](const smp::Inputs& in) -> smp::Returns {
            at::Tensor loss = at::mse_loss(model(in.tensor("x")), in.tensor("y"));
            model.backward(loss);
            return {loss};
          },
          smp::Inputs{{"x", x}, {"y", y}});
      optimizer.step();
      last_loss = out[0].reduce_mean().item<double>();
    }
    double checksum = 0;
    for (const auto& p : model.local_parameters())
      checksum += p.to(at::kDouble).abs().sum().item<double>();

    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    const char* env = std::getenv("SM_HP_MP_PARAMETERS");
    smp::Json record = {{"rank", smp::rank()},
                        {"size", smp::size()},
                        {"host", host},
                        {"local_rank", smp::local_rank()},
                        {"pp_rank", smp::pp_rank()},
                        {"pp_size", smp::pp_size()},
                        {"dp_rank", smp::dp_rank()},
                        {"dp_size", smp::dp_size()},
                        {"mp_parameters", params},
                        {"SM_HP_MP_PARAMETERS", env ? env : ""},
                        {"loss", last_loss},
                        {"param_checksum", checksum}};
    const char* out_dir = std::getenv("SM_OUTPUT_DATA_DIR");
    std::filesystem::path dir = out_dir && *out_dir ? out_dir : "/opt/ml/output/data";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / ("probe-rank-" + std::to_string(smp::rank()) + ".json"))
        << record.dump(2) << "\n";
    smp::shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mp_probe: error: %s\n", e.what());
    return 1;
  }
}
