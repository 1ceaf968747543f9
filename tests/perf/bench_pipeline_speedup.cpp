// Pipeline speedup: the same MLP trained in one process (plain LibTorch loop, whole batch) and as a
// 2-stage libsmp pipeline (2 ranks, m = 8, balanced halves, interleaved), 1 thread per process on a
// 2-core machine. Prints samples/s of both and the ratio (ideal 2m/(m+1) = 1.78 for m = 8).
// The batch (4096, so microbatches of 512 rows) keeps every stage compute-bound: with an optimized
// BLAS (OpenBLAS) a 32-row microbatch runs its GEMMs ~40 % less efficiently than the whole batch,
// a cost of microbatching itself that would hide what the pipeline does (batch 256: ~0.9x).
// Run: bench_pipeline_speedup [--width 1024] [--layers 8] [--batch 4096] [--steps 4]
#include <torch/torch.h>

#include "libsmp/smp.h"
#include "libsmp_bench.h"

using smpbench::int_arg;


int main(int argc, char** argv) {
  if (!smpbench::under_mpirun()) {
    std::printf("bench_pipeline_speedup: load average %s\n", smpbench::load_average().c_str());
    return smpbench::relaunch(2, argc, argv);
  }
  at::set_num_threads(1);
  const int width = int_arg(argc, argv, "--width", 1024), layers = int_arg(argc, argv, "--layers", 8);
  const int batch = int_arg(argc, argv, "--batch", 4096), steps = int_arg(argc, argv, "--steps", 4);
  const int m = int_arg(argc, argv, "--microbatches", 8);
  smp::InitOptions o;
  o.use_environment = false;
  smp::init({{"partitions", 2}, {"microbatches", m}, {"pipeline", "interleaved"},
             {"auto_partition", false}, {"default_partition", 0}}, o);
  at::Tensor x = torch::randn({batch, width}), y = torch::randn({batch, width});

  // Baseline: one process, whole batch (rank 1 waits without spinning).
  double plain = 0;
  if (smp::rank() == 0) {
    auto model = smpbench::mlp(width, layers);
    torch::optim::SGD opt(model->parameters(), 0.001);
    std::vector<double> t;
    for (int s = 0; s <= steps; ++s) {
      double t0 = smpbench::now_s();
      opt.zero_grad();
      torch::mse_loss(model->forward(x), y).backward();
      opt.step();
      if (s) t.push_back(smpbench::now_s() - t0);
    }
    plain = smpbench::median(t);
  }
  smp::barrier();

  double piped = 0;
  {
    smp::DistributedModel model(smpbench::mlp(width, layers));
    auto names = model.child_names();
    for (size_t i = 0; i < names.size(); ++i) model.set_partition(names[i], i < names.size() / 2 ? 0 : 1);
    smp::DistributedOptimizer opt(std::make_shared<torch::optim::SGD>(model.parameters(), 0.001));
    std::vector<double> t;
    for (int s = 0; s <= steps; ++s) {
      smp::barrier();
      double t0 = smpbench::now_s();
      opt.zero_grad();
      smp::step(
          [&](const smp::Inputs& in) -> smp::Returns {
            at::Tensor loss = torch::mse_loss(model(in.tensor("x")), in.tensor("y"));
            model.backward(loss);
            return {};
          },
          {{"x", x}, {"y", y}});
      opt.step();
      double dt = smpbench::now_s() - t0;
      auto all = smp::allgather(c10::IValue(dt), smp::WORLD);
      double slowest = 0;
      for (auto& v : all) slowest = std::max(slowest, v.toDouble());
      if (s) t.push_back(slowest);
    }
    piped = smpbench::median(t);
  }
  if (smp::rank() == 0) {
    std::printf("speedup: MLP %d x Linear(%d) batch %d | one process %.1f ms/step (%.0f samples/s) | "
                "2-stage pipeline m=%d %.1f ms/step (%.0f samples/s) | ratio %.2fx (ideal %.2fx, target >= 1.6x)\n",
                layers, width, batch, plain * 1e3, batch / plain, m, piped * 1e3, batch / piped,
                plain / piped, 2.0 * m / (m + 1));
  }
  smp::shutdown();
  return 0;
}
