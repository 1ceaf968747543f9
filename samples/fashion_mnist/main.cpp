// fashion_mnist: SageMaker's MNIST model-parallel example (pt_mnist.py) in C++ with libsmp, on
// Fashion-MNIST. Run it through smp-local: `smp-local run samples/fashion_mnist/job.json`.
//
// The example's call order: smp::init; data sharded by dp_rank; GroupedNet wrapped in
// DistributedModel; the optimizer in DistributedOptimizer; per batch zero_grad, smp::step (train
// step), optimizer.step; an evaluation pass per epoch; checkpoints; the model saved at the end.

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/optim/adam.h>
#include <torch/optim/schedulers/step_lr.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "libsmp/smp.h"
#include "samples/fashion_mnist/artifacts.h"
#include "samples/fashion_mnist/dataset.h"
#include "samples/fashion_mnist/net.h"
#include "samples/fashion_mnist/options.h"
#include "samples/fashion_mnist/trainer.h"

namespace fashion_mnist {
namespace {

using Clock = std::chrono::steady_clock;

// One rank per GPU, as SageMaker launches them (the example's torch.cuda.set_device(local_rank)):
// CUDA when this LibTorch has it and CUDA_VISIBLE_DEVICES leaves this host a GPU, else the CPU.
c10::Device pick_device() {
  const int64_t gpus = static_cast<int64_t>(torch::cuda::device_count());
  if (gpus > 0)
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(smp::local_rank() % gpus));
  return c10::Device(c10::kCPU);
}

void check_divisible(const char* name, int batch, int microbatches) {
  if (batch % microbatches != 0)
    throw std::invalid_argument(
        std::string("hyperparameter ") + name + " = " + std::to_string(batch) +
        " is not divisible by the pipeline's microbatches (" + std::to_string(microbatches) +
        "): smp::step splits every batch into " + "equal microbatches. Pick a multiple of " +
        std::to_string(microbatches) + ".");
}

int run(int argc, char** argv) {
  std::vector<std::string> notes;
  const Hyperparameters hp = parse_hyperparameters(argc, argv, notes);
  const Paths paths = sagemaker_paths();
  // Up to 8 ranks share a few CPU cores here; more intra-op threads per rank only oversubscribe.
  at::set_num_threads(1);
  torch::manual_seed(static_cast<uint64_t>(hp.seed));
  // Before smp::init: a missing channel fails every rank the same way, before any rank waits.
  const Dataset train_all = load_fashion_mnist(paths.training, Split::kTrain);
  const Dataset test_all = load_fashion_mnist(paths.training, Split::kTest);

  smp::init();  // mp_parameters from SM_HP_MP_PARAMETERS, as SageMaker and smp-local set it
  const bool leader = smp::rank() == 0;
  const int microbatches = smp::mp_parameters().value("microbatches", 1);
  check_divisible("batch-size", hp.batch_size, microbatches);
  check_divisible("test-batch-size", hp.test_batch_size, microbatches);
  const c10::Device device = pick_device();
  if (leader) {
    for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
    std::printf(
        "fashion_mnist: %d ranks, %d pipeline stages x %d data-parallel replicas, device %s; "
        "%lld training / %lld test images from %s\n",
        smp::size(), smp::pp_size(), smp::dp_size(), device.str().c_str(),
        static_cast<long long>(train_all.size()), static_cast<long long>(test_all.size()),
        paths.training.c_str());
    std::fflush(stdout);
  }
  const Dataset train =
      shard(train_all, smp::dp_rank(), smp::dp_size(), static_cast<uint64_t>(hp.seed));
  const Dataset test =
      shard(test_all, smp::dp_rank(), smp::dp_size(), static_cast<uint64_t>(hp.seed) + 1);

  GroupedNet net;
  net->to(device);  // libsmp runs each stage where its parameters are
  smp::DistributedModel model(net.ptr(),
                              {torch::nn::AnyModule(net->net1), torch::nn::AnyModule(net->net2)});
  // LibTorch's C++ API has no Adadelta (the example's optimizer); Adam converges on this model
  // within one epoch without tuning. StepLR decays it per epoch as the example does.
  auto adam =
      std::make_shared<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(hp.lr));
  smp::DistributedOptimizer optimizer(adam);
  torch::optim::StepLR scheduler(*adam, 1, hp.gamma);

  const int done = resume_if_checkpointed(paths.checkpoint_dir);
  if (done > 0 && leader)
    std::printf("resumed from %s after epoch %d\n", paths.checkpoint_dir.c_str(), done);
  for (int e = 0; e < done; ++e) scheduler.step();

  Trainer trainer(model, optimizer, hp, device, microbatches);
  nlohmann::json metrics = {{"epochs", nlohmann::json::array()}};
  for (int epoch = done + 1; epoch <= hp.epochs; ++epoch) {
    auto start = Clock::now();
    TrainStats tr = trainer.train_epoch(train, epoch);
    EvalStats ev = trainer.evaluate(test);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    save_epoch_checkpoint(paths.checkpoint_dir, epoch, model, optimizer, hp.num_kept_checkpoints);
    scheduler.step();
    if (leader) {
      // One line per epoch, in a fixed form (SageMaker metric definitions match log lines by
      // regex).
      std::printf(
          "epoch %d/%d: train_loss=%.4f test_loss=%.4f test_accuracy=%.2f%% (%lld/%lld) "
          "time=%.1fs\n",
          epoch, hp.epochs, tr.loss, ev.loss, ev.accuracy(), static_cast<long long>(ev.correct),
          static_cast<long long>(ev.samples), seconds);
      std::fflush(stdout);
      metrics["epochs"].push_back({{"epoch", epoch},
                                   {"train_loss", tr.loss},
                                   {"train_samples", tr.samples},
                                   {"test_loss", ev.loss},
                                   {"test_accuracy", ev.accuracy()},
                                   {"test_samples", ev.samples},
                                   {"seconds", seconds}});
      metrics["test_accuracy"] = ev.accuracy();
      write_metrics(paths.output_data_dir, metrics);
    }
  }

  save_final_model(paths.model_dir, model);
  if (leader) {
    std::printf("model: %s/model.pt; checkpoints: %s; metrics: %s/metrics.json\n",
                paths.model_dir.c_str(), paths.checkpoint_dir.c_str(),
                paths.output_data_dir.c_str());
    std::fflush(stdout);
  }
  smp::shutdown();
  return 0;
}

}  // namespace
}  // namespace fashion_mnist

int main(int argc, char** argv) {
  try {
    return fashion_mnist::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist: error: %s\n", e.what());
    const char* out = std::getenv("SM_OUTPUT_DIR");
    fashion_mnist::write_failure(out && *out ? out : "/opt/ml/output", e.what());
    return 1;
  }
}
