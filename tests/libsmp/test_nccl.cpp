// The NCCL backend: compiled wherever the CUDA toolkit and NCCL are installed; run where a GPU is
// present (one rank per GPU: on one GPU, a single-rank communicator). Without a GPU it SKIPs and
// says why.
#include "catch_torch.h"

#include <cuda_runtime_api.h>

#include "harness.h"
#include "libsmp/comm/nccl_backend.h"
#include "libsmp/runtime/runtime.h"

TEST_CASE("NCCL backend: allreduce, broadcast and send/recv on device memory", "[nccl]") {
  INFO(smp::comm::NcclBackend::version());
  std::string why;
  int devices = smp::comm::NcclBackend::device_count(&why);
  if (devices == 0) SKIP("no GPU here (" + why + "); " + smp::comm::NcclBackend::version() + " is linked");
  smptest::init_for_test({{"partitions", 1}, {"ddp", smptest::world_size_from_env() > 1}});
  auto& rt = smp::detail::runtime();
  auto& world = dynamic_cast<smp::comm::MpiBackend&>(*rt.objects);
  smp::comm::NcclBackend nccl(world, smp::local_rank() % devices);
  const size_t n = 1024;
  std::vector<float> host(n, static_cast<float>(smp::rank() + 1));
  float* dev = nullptr;
  REQUIRE(cudaMalloc(&dev, n * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemcpy(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  auto w = nccl.allreduce_raw(dev, n, ncclFloat32, ncclSum);
  nccl.wait(*w, "allreduce");
  REQUIRE(cudaMemcpy(host.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  const int size = smp::size();
  CHECK(host[0] == static_cast<float>(size * (size + 1) / 2));
  CHECK(host[n - 1] == host[0]);
  auto b = nccl.broadcast_raw(dev, n, ncclFloat32, 0);
  nccl.wait(*b, "broadcast");
  cudaFree(dev);
#if defined(SMP_TEST_TORCH_CUDA)
  at::Tensor t = torch::full({16}, static_cast<float>(smp::rank()), torch::kCUDA);
  nccl.allreduce_sync(t, smp::comm::ReduceOp::kAvg);
  CHECK(t.cpu()[0].item<float>() == Catch::Approx((size - 1) / 2.0));
#endif
  smp::shutdown(false);
}
