#pragma once
// NcclBackend: the Backend over an NCCL communicator, for CUDA tensors (built when the CUDA toolkit
// and NCCL are found). The communicator is bootstrapped over the group's MPI backend (its rank 0
// makes the ncclUniqueId and broadcasts it); byte messages go over that MPI backend. Operations are
// enqueued on the backend's own CUDA stream after the data's producers and complete when their
// CUDA event has fired, so test() never blocks. It works on raw device pointers and streams, so it
// also compiles against a CPU-only LibTorch; the tensor entry points need CUDA tensors.

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "libsmp/comm/mpi_backend.h"

namespace smp::comm {

class NcclBackend : public Backend {
 public:
  // Collective over `bootstrap`'s members; `device` is this rank's CUDA device.
  NcclBackend(MpiBackend& bootstrap, int device);
  ~NcclBackend() override;

  std::string backend_name() const override { return "nccl"; }
  int device() const { return device_; }

  // Raw forms: `count` elements of `type` at device pointers.
  WorkPtr allreduce_raw(void* data, size_t count, ncclDataType_t type, ncclRedOp_t op);
  WorkPtr broadcast_raw(void* data, size_t count, ncclDataType_t type, int root);
  WorkPtr send_raw(const void* data, size_t count, ncclDataType_t type, int dst);
  WorkPtr recv_raw(void* data, size_t count, ncclDataType_t type, int src);

  // Tensors must be CUDA tensors on device(); tags are ignored (NCCL orders by call order).
  WorkPtr isend(const at::Tensor& tensor, int dst, int tag) override;
  WorkPtr irecv(const at::Tensor& tensor, int src, int tag) override;
  WorkPtr isend_bytes(std::string data, int dst, int tag) override;
  BytesWorkPtr irecv_bytes(int src, int tag) override;
  WorkPtr broadcast(const at::Tensor& tensor, int root) override;
  WorkPtr allreduce(const at::Tensor& tensor, ReduceOp op) override;
  WorkPtr allgather(const std::vector<at::Tensor>& out, const at::Tensor& in) override;
  WorkPtr barrier() override;
  BytesWorkPtr broadcast_bytes(std::string data, int root) override;
  GatherWorkPtr allgather_bytes(std::string data) override;

  // "NCCL 2.28.9" (the library this process loaded).
  static std::string version();
  // Number of usable CUDA devices, or a reason why there are none.
  static int device_count(std::string* why_none);

 private:
  void before_enqueue();  // order after the work already queued on the data's device
  WorkPtr after_enqueue(std::vector<at::Tensor> keep);
  MpiBackend& mpi_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace smp::comm
