// The pipeline on a CUDA device: every stage's layers on the GPU, activations and gradients between
// stages staged through host memory by the MPI transport (on one GPU every rank shares it), against
// the same training loop in one process on the same GPU. Without a CUDA device visible to this
// LibTorch (the CPU-only Debian build, or no GPU) it SKIPs and says why.
#include "catch_torch.h"

#include <torch/cuda.h>

#include "equivalence_check.h"
#include "harness.h"

TEST_CASE("pipeline-parallel training on a GPU equals the single-process GPU run", "[gpu]") {
  if (!torch::cuda::is_available())
    SKIP("no CUDA device visible to this LibTorch (a CPU-only build, or no GPU on this machine)");
  // Same arithmetic in both runs: TF32 would round differently for the split microbatches.
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  std::vector<smptest::TrainConfig> configs;
  for (const char* model : {"mlp", "cnn"})
    for (const char* pipeline : {"simple", "interleaved"}) {
      smptest::TrainConfig c;
      c.model = model;
      c.pipeline = pipeline;
      c.pp = smptest::world_size_from_env();
      c.microbatches = 4;
      c.device = "cuda:0";
      configs.push_back(c);
    }
  smptest::check_equivalent(configs);
}
