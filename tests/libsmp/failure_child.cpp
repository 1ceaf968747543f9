// A pipeline job (one Linear per stage; 2 or 3 stages, from SM_HP_MP_PARAMETERS) that breaks on
// purpose (driven by test_failure): at step 2, rank 1 (stage 1, which runs the second child for
// the leader's execution requests), in microbatch 1,
//   hang  - stops answering (sleeps) in the middle of the step,
//   kill  - raises SIGKILL on itself mid-step,
//   exit  - calls _exit(3) mid-step,
//   none  - behaves.
// The other ranks must not hang: they fail with a message naming the peer, or mpirun ends the job.
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "libsmp/smp.h"

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "none";
  at::set_num_threads(1);
  // SM_HP_MP_PARAMETERS, SMP_RECV_TIMEOUT_S from the environment; SMP_FAILURE_LEADER_TIMEOUT_S
  // gives rank 0 a longer timeout of its own (so that another rank times out first).
  smp::InitOptions options;
  const char* leader_timeout = std::getenv("SMP_FAILURE_LEADER_TIMEOUT_S");
  const char* world_rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (leader_timeout && *leader_timeout && world_rank && std::atoi(world_rank) == 0)
    options.recv_timeout_s = std::atof(leader_timeout);
  smp::detail::init(nullptr, options);
  torch::manual_seed(1);
  torch::nn::Sequential seq;
  std::vector<torch::nn::Linear> linears;
  for (int i = 0; i < smp::pp_size(); ++i) {
    linears.emplace_back(8, 8);
    seq->push_back(linears.back());
  }
  int s = 0;
  auto breaks_now = [&s] {
    return s == 2 && smp::rank() == 1 && smp::current_microbatch() == 1;
  };
  std::vector<smp::Layer> layers;
  for (int i = 0; i < smp::pp_size(); ++i) {
    torch::nn::Linear linear = linears[i];
    auto forward = [=](const at::Tensor& x) mutable {
      if (i == 1 && breaks_now()) {
        if (!std::strcmp(mode, "hang")) sleep(600);
        if (!std::strcmp(mode, "kill")) std::raise(SIGKILL);
        if (!std::strcmp(mode, "exit")) _exit(3);
      }
      return linear->forward(x);
    };
    layers.push_back({std::to_string(i), linear.ptr(), forward});
  }
  smp::DistributedModel model(seq.ptr(), layers);
  for (; s < 5; ++s) {
    smp::step(
        [&](const smp::Inputs& in) -> smp::Returns {
          at::Tensor loss = model(in.tensor("x")).pow(2).mean();
          model.backward(loss);
          return {loss};
        },
        {{"x", torch::randn({4, 8})}});
  }
  smp::shutdown();
  return 0;
}
