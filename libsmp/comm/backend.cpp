#include "libsmp/comm/backend.h"

namespace smp::comm {

std::string Backend::peer_name(int group_rank) const {
  return group_name_ + " rank " + std::to_string(group_rank) + " (global rank " +
         std::to_string(global_rank(group_rank)) + ")";
}

void Backend::wait(Work& work, const std::string& what) {
  comm::wait(work, timeout_, [&] { return what; });
}

void Backend::send(const at::Tensor& tensor, int dst, int tag) {
  auto w = isend(tensor, dst, tag);
  wait(*w, "a tensor send (tag " + std::to_string(tag) + ") to " + peer_name(dst) + " to complete");
}

void Backend::recv(const at::Tensor& tensor, int src, int tag) {
  auto w = irecv(tensor, src, tag);
  wait(*w, "a tensor (tag " + std::to_string(tag) + ") from " + peer_name(src));
}

void Backend::send_bytes(std::string data, int dst, int tag) {
  auto w = isend_bytes(std::move(data), dst, tag);
  wait(*w, "a message send (tag " + std::to_string(tag) + ") to " + peer_name(dst) + " to complete");
}

std::string Backend::recv_bytes(int src, int tag) {
  auto w = irecv_bytes(src, tag);
  wait(*w, "a message (tag " + std::to_string(tag) + ") from " + peer_name(src));
  return std::move(w->result());
}

void Backend::broadcast_sync(const at::Tensor& tensor, int root) {
  auto w = broadcast(tensor, root);
  wait(*w, "a broadcast from " + peer_name(root) + " in " + group_name_);
}

void Backend::allreduce_sync(const at::Tensor& tensor, ReduceOp op) {
  auto w = allreduce(tensor, op);
  wait(*w, "an allreduce in " + group_name_ + " (some member has not joined it)");
}

void Backend::barrier_sync() {
  auto w = barrier();
  wait(*w, "a barrier in " + group_name_ + " (some member has not reached it)");
}

std::string Backend::broadcast_bytes_sync(std::string data, int root) {
  auto w = broadcast_bytes(std::move(data), root);
  wait(*w, "a broadcast from " + peer_name(root) + " in " + group_name_);
  return std::move(w->result());
}

std::vector<std::string> Backend::allgather_bytes_sync(std::string data) {
  auto w = allgather_bytes(std::move(data));
  wait(*w, "an allgather in " + group_name_ + " (some member has not joined it)");
  return std::move(w->result());
}

}  // namespace smp::comm
