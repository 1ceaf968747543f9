#pragma once
// Backend: one process group's communication, modelled on c10d's ProcessGroup — point-to-point
// (tagged, non-blocking) and collectives on tensors and on byte strings. Peers are numbered by
// their rank inside the group. Every operation returns a Work to poll; the blocking helpers below
// poll with the group's timeout. Implementations: MpiBackend (CPU tensors; CUDA tensors are
// staged through host memory) and NcclBackend (CUDA tensors; bytes go over MPI).

#include <chrono>
#include <string>
#include <vector>

#include "libsmp/comm/work.h"

namespace at {
class Tensor;
}

namespace smp::comm {

enum class ReduceOp { kSum, kAvg };

class Backend {
 public:
  Backend(std::string group_name, std::vector<int> members, int rank,
          std::chrono::duration<double> timeout)
      : group_name_(std::move(group_name)), members_(std::move(members)), rank_(rank),
        timeout_(timeout) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual std::string backend_name() const = 0;  // "mpi", "nccl"
  const std::string& group_name() const { return group_name_; }
  int rank() const { return rank_; }
  int size() const { return static_cast<int>(members_.size()); }
  const std::vector<int>& members() const { return members_; }  // global ranks, ascending
  int global_rank(int group_rank) const { return members_.at(group_rank); }
  std::chrono::duration<double> timeout() const { return timeout_; }

  // Point to point. `tensor` must be contiguous; irecv writes into it (its shape and dtype must
  // match the sender's). Tags are non-negative and below 32768.
  virtual WorkPtr isend(const at::Tensor& tensor, int dst, int tag) = 0;
  virtual WorkPtr irecv(const at::Tensor& tensor, int src, int tag) = 0;
  virtual WorkPtr isend_bytes(std::string data, int dst, int tag) = 0;
  virtual BytesWorkPtr irecv_bytes(int src, int tag) = 0;  // any length

  // Collectives: every member calls them in the same order. Tensors are updated in place.
  virtual WorkPtr broadcast(const at::Tensor& tensor, int root) = 0;
  virtual WorkPtr allreduce(const at::Tensor& tensor, ReduceOp op) = 0;
  // `out` holds size() tensors shaped like `in`; out[i] receives member i's `in`.
  virtual WorkPtr allgather(const std::vector<at::Tensor>& out, const at::Tensor& in) = 0;
  virtual WorkPtr barrier() = 0;
  virtual BytesWorkPtr broadcast_bytes(std::string data, int root) = 0;  // non-roots pass ""
  virtual GatherWorkPtr allgather_bytes(std::string data) = 0;

  // Blocking forms: poll with this group's timeout; throw smp::TimeoutError naming the peer.
  void send(const at::Tensor& tensor, int dst, int tag);
  void recv(const at::Tensor& tensor, int src, int tag);
  void send_bytes(std::string data, int dst, int tag);
  std::string recv_bytes(int src, int tag);
  void broadcast_sync(const at::Tensor& tensor, int root);
  void allreduce_sync(const at::Tensor& tensor, ReduceOp op);
  void barrier_sync();
  std::string broadcast_bytes_sync(std::string data, int root);
  std::vector<std::string> allgather_bytes_sync(std::string data);

  // Polls `work` with this group's timeout; `what` describes the wait for the error message.
  void wait(Work& work, const std::string& what);

 protected:
  std::string peer_name(int group_rank) const;

 private:
  std::string group_name_;
  std::vector<int> members_;
  int rank_;
  std::chrono::duration<double> timeout_;
};

}  // namespace smp::comm
