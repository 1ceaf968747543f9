// A 2-stage pipeline job that breaks on purpose (driven by test_failure): at step 2, rank 1
// (stage 1, which runs the second child for the leader's execution requests), in microbatch 1,
//   hang  - stops answering (sleeps) in the middle of the step,
//   kill  - raises SIGKILL on itself mid-step,
//   exit  - calls _exit(3) mid-step,
//   none  - behaves.
// The other rank must not hang: it fails with a message naming the peer, or mpirun ends the job.
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "libsmp/smp.h"

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "none";
  at::set_num_threads(1);
  smp::init();  // SM_HP_MP_PARAMETERS, SMP_RECV_TIMEOUT_S from the environment
  torch::manual_seed(1);
  torch::nn::Linear first(8, 8), second(8, 8);
  torch::nn::Sequential seq(first, second);
  int s = 0;
  auto breaking = [&](const at::Tensor& x) {
    if (s == 2 && smp::rank() == 1 && smp::current_microbatch() == 1) {
      if (!std::strcmp(mode, "hang")) sleep(600);
      if (!std::strcmp(mode, "kill")) std::raise(SIGKILL);
      if (!std::strcmp(mode, "exit")) _exit(3);
    }
    return second->forward(x);
  };
  smp::DistributedModel model(
      seq.ptr(), std::vector<smp::Layer>{
                     {"0", first.ptr(), [&](const at::Tensor& x) { return first->forward(x); }},
                     {"1", second.ptr(), breaking}});
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
