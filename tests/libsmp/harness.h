#pragma once
// Test harness for libsmp under mpirun: small models (MLP, CNN) built from a seed, deterministic
// batches, a single-process reference training loop and the same loop through libsmp, so tests
// can compare losses and parameters. Each smp run is its own init/shutdown(false) session.

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "libsmp/smp.h"

namespace smptest {

struct TrainConfig {
  std::string model = "mlp";  // "mlp" or "cnn"
  int pp = 1, dp = 1, microbatches = 1;
  std::string pipeline = "interleaved";
  std::string placement = "cluster";
  bool auto_partition = false;
  int steps = 5;
  int batch = 16;  // global batch (split over dp replicas, then microbatches)
  std::optional<int> active_microbatches;
  std::optional<std::string> trace_dir;
  double timeout_s = 60;
  std::string device = "cpu";  // where the model and batches live ("cuda:0" on a GPU machine)
};

std::string describe(const TrainConfig& c);
smp::Json mp_parameters(const TrainConfig& c);

torch::nn::Sequential make_model(const std::string& kind, uint64_t seed);
// The global batch of `step`: (inputs, targets).
std::pair<at::Tensor, at::Tensor> make_batch(const std::string& kind, int step, int batch);
at::Tensor loss_of(const std::string& kind, const at::Tensor& output, const at::Tensor& target);

struct RunResult {
  std::vector<double> losses;  // per step, over the global batch
  std::vector<std::pair<std::string, at::Tensor>> params;  // full model after the last step
  std::vector<int> partition;
};

RunResult train_reference(const TrainConfig& c);
// init(mp_parameters(c)) → DistributedModel + DistributedOptimizer → c.steps smp::steps →
// full state dict → shutdown(false). Every rank of the world must call it.
RunResult train_smp(const TrainConfig& c);

// ||a - b|| / max(||b||, tiny)
double rel_diff(const at::Tensor& a, const at::Tensor& b);
// The world size mpirun started (OMPI_COMM_WORLD_SIZE; 1 without mpirun).
int world_size_from_env();
// Initializes libsmp for a test (explicit config, no environment, short timeout, 1 thread).
void init_for_test(const smp::Json& params, double timeout_s = 60,
                   std::optional<std::string> trace_dir = std::nullopt);

}  // namespace smptest
