#include "libsmp/comm/objects.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include "libsmp/runtime/error.h"
#include "libsmp/runtime/queries.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {

constexpr int kObjectTag = 100;
constexpr char kPickled = 'P', kRaw = 'B';

void send_envelope(char kind, const std::string& payload, int dest_global) {
  auto& rt = detail::runtime();
  std::string msg;
  msg.reserve(payload.size() + 1);
  msg.push_back(kind);
  msg += payload;
  rt.objects->send_bytes(std::move(msg), dest_global, kObjectTag);
}

std::string recv_envelope(char kind, int src_global, const char* api) {
  auto& rt = detail::runtime();
  std::string msg = rt.objects->recv_bytes(src_global, kObjectTag);
  if (msg.empty() || msg[0] != kind)
    throw Error(std::string("smp::") + api + ": global rank " + std::to_string(src_global) +
                " sent " + (msg.empty() ? "an empty message" : msg[0] == kPickled ? "an object (smp::send/broadcast)" : "raw bytes (smp::send_bytes/broadcast_bytes)") +
                ", which does not match this call; receive objects with smp::recv_from and bytes "
                "with smp::recv_bytes_from.");
  return msg.substr(1);
}

void broadcast_envelope(char kind, const std::string& payload, CommGroup group) {
  auto& rt = detail::runtime();
  for (int member : rt.topology->group(detail::to_core(group), rt.rank))
    if (member != rt.rank) send_envelope(kind, payload, member);
}

}  // namespace

std::string pickle(const c10::IValue& obj) {
  std::vector<char> data = torch::jit::pickle_save(obj);
  return std::string(data.begin(), data.end());
}

c10::IValue unpickle(const std::string& data) {
  return torch::jit::pickle_load(std::vector<char>(data.begin(), data.end()));
}

void barrier(CommGroup group) { detail::runtime().group(group).barrier_sync(); }
void dp_barrier() { barrier(CommGroup::DP_GROUP); }
void mp_barrier() { barrier(CommGroup::MP_GROUP); }
void pp_barrier() { barrier(CommGroup::PP_GROUP); }

void broadcast(const c10::IValue& obj, CommGroup group) {
  broadcast_envelope(kPickled, pickle(obj), group);
}

void send(const c10::IValue& obj, int dest, RankType rank_type) {
  send_envelope(kPickled, pickle(obj), global_rank_of(dest, rank_type));
}

c10::IValue recv_from(int src, RankType rank_type) {
  return unpickle(recv_envelope(kPickled, global_rank_of(src, rank_type), "recv_from"));
}

std::vector<c10::IValue> allgather(const c10::IValue& obj, CommGroup group) {
  std::vector<c10::IValue> out;
  for (const auto& piece : allgather_bytes(pickle(obj), group)) out.push_back(unpickle(piece));
  return out;
}

void broadcast_bytes(const std::string& data, CommGroup group) {
  broadcast_envelope(kRaw, data, group);
}

void send_bytes(const std::string& data, int dest, RankType rank_type) {
  send_envelope(kRaw, data, global_rank_of(dest, rank_type));
}

std::string recv_bytes_from(int src, RankType rank_type) {
  return recv_envelope(kRaw, global_rank_of(src, rank_type), "recv_bytes_from");
}

std::vector<std::string> allgather_bytes(const std::string& data, CommGroup group) {
  return detail::runtime().group(group).allgather_bytes_sync(data);
}

}  // namespace smp
