#pragma once
// Object helpers: SMP's synchronous object exchange over a group (smp.barrier, smp.broadcast +
// smp.recv_from, smp.send, smp.allgather). Objects are torch IValues (tensors, numbers, strings,
// lists, dicts, tuples), serialized with torch::pickle_save; the *_bytes forms move raw bytes.
// Point-to-point calls pair by order between two ranks: a broadcast or send must be matched by
// recv_from on the receivers.

#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

#include "libsmp/runtime/groups.h"

namespace smp {

void barrier(CommGroup group = CommGroup::WORLD);
void dp_barrier();
void mp_barrier();
void pp_barrier();

// Sends `obj` to every other member of `group`; each of them calls recv_from(<my rank>, type).
void broadcast(const c10::IValue& obj, CommGroup group);
void send(const c10::IValue& obj, int dest, RankType rank_type = RankType::WORLD_RANK);
c10::IValue recv_from(int src, RankType rank_type = RankType::WORLD_RANK);
// Member i's object at index i (its rank within `group`).
std::vector<c10::IValue> allgather(const c10::IValue& obj, CommGroup group);

void broadcast_bytes(const std::string& data, CommGroup group);
void send_bytes(const std::string& data, int dest, RankType rank_type = RankType::WORLD_RANK);
std::string recv_bytes_from(int src, RankType rank_type = RankType::WORLD_RANK);
std::vector<std::string> allgather_bytes(const std::string& data, CommGroup group);

// torch::pickle_save / pickle_load as byte strings (the format torch.load reads).
std::string pickle(const c10::IValue& obj);
c10::IValue unpickle(const std::string& data);

}  // namespace smp
