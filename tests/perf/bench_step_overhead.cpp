// libsmp's overhead on one rank: a plain LibTorch training loop against the same model and batch
// through smp::step + DistributedModel + DistributedOptimizer (1 partition, 1 microbatch), the
// two timed alternately in the same run. Prints the median step time of both and the overhead.
// Run: bench_step_overhead [--width 512] [--layers 4] [--batch 64] [--steps 200]
#include <torch/torch.h>

#include "libsmp/smp.h"
#include "libsmp_bench.h"

using smpbench::int_arg;


int main(int argc, char** argv) {
  if (!smpbench::under_mpirun()) {
    std::printf("bench_step_overhead: load average %s\n", smpbench::load_average().c_str());
    return smpbench::relaunch(1, argc, argv);
  }
  at::set_num_threads(1);
  const int width = int_arg(argc, argv, "--width", 512), layers = int_arg(argc, argv, "--layers", 4);
  const int batch = int_arg(argc, argv, "--batch", 64), steps = int_arg(argc, argv, "--steps", 200);
  smp::InitOptions o;
  o.use_environment = false;
  smp::init({{"partitions", 1}, {"microbatches", 1}}, o);
  at::Tensor x = torch::randn({batch, width}), y = torch::randn({batch, width});

  auto plain_model = smpbench::mlp(width, layers);
  torch::optim::SGD plain_opt(plain_model->parameters(), 0.001);
  smp::DistributedModel model(smpbench::mlp(width, layers));
  smp::DistributedOptimizer opt(std::make_shared<torch::optim::SGD>(model.parameters(), 0.001));

  auto plain_step = [&] {
    plain_opt.zero_grad();
    torch::mse_loss(plain_model->forward(x), y).backward();
    plain_opt.step();
  };
  auto smp_step = [&] {
    opt.zero_grad();
    smp::step(
        [&](const smp::Inputs& in) -> smp::Returns {
          at::Tensor loss = torch::mse_loss(model(in.tensor("x")), in.tensor("y"));
          model.backward(loss);
          return {loss};
        },
        {{"x", x}, {"y", y}});
    opt.step();
  };
  for (int i = 0; i < 10; ++i) {
    plain_step();
    smp_step();
  }
  std::vector<double> tp, ts;
  for (int i = 0; i < steps; ++i) {
    double t0 = smpbench::now_s();
    plain_step();
    double t1 = smpbench::now_s();
    smp_step();
    double t2 = smpbench::now_s();
    tp.push_back(t1 - t0);
    ts.push_back(t2 - t1);
  }
  double a = smpbench::median(tp), b = smpbench::median(ts);
  std::printf("overhead: MLP %d x Linear(%d) batch %d, %d steps | plain loop %.3f ms/step | "
              "smp::step %.3f ms/step | overhead %+.1f%% (target <= 5%%)\n",
              layers, width, batch, steps, a * 1e3, b * 1e3, 100 * (b / a - 1));
  smp::shutdown();
  return 0;
}
