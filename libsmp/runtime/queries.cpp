#include "libsmp/runtime/queries.h"

#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {

std::string to_string(CommGroup group) { return core::to_string(detail::to_core(group)); }

std::string to_string(RankType type) {
  switch (type) {
    case RankType::WORLD_RANK: return "WORLD_RANK";
    case RankType::MP_RANK: return "MP_RANK";
    case RankType::DP_RANK: return "DP_RANK";
  }
  return "WORLD_RANK";
}

int rank() { return detail::runtime().rank; }
int size() { return detail::runtime().size; }
int local_rank() { return detail::runtime().local_rank; }
int local_size() { return detail::runtime().local_size; }

int mp_rank() { return detail::runtime().coords.mp_rank; }
int mp_size() { return detail::runtime().topology->mp_size(); }
int dp_rank() { return detail::runtime().coords.dp_rank; }
int dp_size() { return detail::runtime().topology->dp_size(); }
int pp_rank() { return detail::runtime().coords.pp_rank; }
int pp_size() { return detail::runtime().topology->pp_size(); }
int tp_rank() { return detail::runtime().coords.tp_rank; }
int tp_size() { return detail::runtime().topology->tp_size(); }
int rdp_rank() { return detail::runtime().coords.rdp_rank; }
int rdp_size() { return detail::runtime().topology->rdp_size(); }

std::vector<int> get_group(CommGroup group) {
  auto& rt = detail::runtime();
  return rt.topology->group(detail::to_core(group), rt.rank);
}
std::vector<int> get_world_group() { return get_group(CommGroup::WORLD); }
std::vector<int> get_mp_group() { return get_group(CommGroup::MP_GROUP); }
std::vector<int> get_dp_group() { return get_group(CommGroup::DP_GROUP); }
std::vector<int> get_pp_group() { return get_group(CommGroup::PP_GROUP); }
std::vector<int> get_tp_group() { return get_group(CommGroup::TP_GROUP); }
std::vector<int> get_rdp_group() { return get_group(CommGroup::RDP_GROUP); }

int group_rank(CommGroup group) { return detail::runtime().group(group).rank(); }
int group_size(CommGroup group) { return detail::runtime().group(group).size(); }

int global_rank_of(int peer, RankType type) {
  auto& rt = detail::runtime();
  CommGroup g = type == RankType::WORLD_RANK ? CommGroup::WORLD
                : type == RankType::MP_RANK  ? CommGroup::MP_GROUP
                                             : CommGroup::DP_GROUP;
  const auto& members = rt.group(g).members();
  if (peer < 0 || peer >= static_cast<int>(members.size()))
    throw Error("rank " + std::to_string(peer) + " does not exist as a " + to_string(type) +
                ": this process's " + to_string(g) + " has " + std::to_string(members.size()) +
                " members (0.." + std::to_string(members.size() - 1) + ").");
  return members[peer];
}

}  // namespace smp
