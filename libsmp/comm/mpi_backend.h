#pragma once
// MpiBackend: the Backend over an MPI communicator (one per process group). CPU tensors go
// straight from their memory; other devices are staged through a host copy. Every operation is a
// non-blocking MPI call completed by polling (MPI_Test), which is what lets the pipeline scheduler
// interleave many transfers on one thread and time out instead of hanging.

#include <mpi.h>

#include "libsmp/comm/backend.h"

namespace smp::comm {

class MpiBackend : public Backend {
 public:
  // Takes ownership of `comm` (freed in the destructor while MPI is still up).
  MpiBackend(MPI_Comm comm, std::string group_name, std::vector<int> members,
             std::chrono::duration<double> timeout);
  ~MpiBackend() override;

  std::string backend_name() const override { return "mpi"; }
  MPI_Comm comm() const { return comm_; }

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

  // Blocking in-place MPI_Allreduce of a contiguous CPU tensor: MPI's tuned algorithms, which a
  // polled MPI_Iallreduce does not reach (it only advances inside MPI_Test). Call it only when
  // every member is known to be calling it too (e.g. after a barrier that had a timeout), since a
  // blocking call cannot time out.
  void allreduce_now(const at::Tensor& tensor, ReduceOp op);

 private:
  MPI_Comm comm_;
};

// True while MPI is initialized and not finalized (Works check it before touching requests).
bool mpi_alive();

}  // namespace smp::comm
