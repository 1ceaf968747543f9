#include "libsmp/core/topology.h"

#include <algorithm>
#include <stdexcept>

namespace smp::core {

std::string to_string(CommGroup group) {
  switch (group) {
    case CommGroup::kWorld: return "WORLD";
    case CommGroup::kMp: return "MP_GROUP";
    case CommGroup::kDp: return "DP_GROUP";
    case CommGroup::kPp: return "PP_GROUP";
    case CommGroup::kTp: return "TP_GROUP";
    case CommGroup::kRdp: return "RDP_GROUP";
  }
  return "WORLD";
}

std::string Topology::letters_for(const std::string& placement) {
  if (placement == "cluster") return "DPT";
  if (placement == "spread") return "TPD";
  std::string sorted = placement;
  std::sort(sorted.begin(), sorted.end());
  if (sorted != "DPT")
    throw std::invalid_argument("placement_strategy \"" + placement +
                                "\" is not \"cluster\", \"spread\" or a permutation of \"DPT\"");
  return placement;
}

Topology::Topology(int world_size, int pp_size, int tp_size, const std::string& placement)
    : world_(world_size), pp_(pp_size), tp_(tp_size), rdp_(0), letters_(letters_for(placement)) {
  if (world_ < 1 || pp_ < 1 || tp_ < 1)
    throw std::invalid_argument("world, pipeline and tensor sizes must be positive");
  if (world_ % (pp_ * tp_) != 0)
    throw std::invalid_argument("pipeline (" + std::to_string(pp_) + ") x tensor (" +
                                std::to_string(tp_) + ") parallel degree does not divide " +
                                std::to_string(world_) + " processes");
  rdp_ = world_ / (pp_ * tp_);
}

int Topology::size_of(char letter) const {
  return letter == 'D' ? rdp_ : letter == 'P' ? pp_ : tp_;
}

int Topology::rank_of(int rdp_rank, int pp_rank, int tp_rank) const {
  int rank = 0;
  for (char letter : letters_) {  // left-most letter is the slowest digit
    int coord = letter == 'D' ? rdp_rank : letter == 'P' ? pp_rank : tp_rank;
    rank = rank * size_of(letter) + coord;
  }
  return rank;
}

RankCoords Topology::coords(int rank) const {
  if (rank < 0 || rank >= world_) throw std::out_of_range("rank " + std::to_string(rank));
  RankCoords c;
  c.rank = rank;
  int rest = rank;
  for (auto it = letters_.rbegin(); it != letters_.rend(); ++it) {  // fastest digit first
    int size = size_of(*it);
    int coord = rest % size;
    rest /= size;
    (*it == 'D' ? c.rdp_rank : *it == 'P' ? c.pp_rank : c.tp_rank) = coord;
  }
  auto index_in = [](const std::vector<int>& g, int r) {
    return static_cast<int>(std::find(g.begin(), g.end(), r) - g.begin());
  };
  c.dp_rank = index_in(group(CommGroup::kDp, rank), rank);
  c.mp_rank = index_in(group(CommGroup::kMp, rank), rank);
  return c;
}

std::vector<int> Topology::group(CommGroup kind, int rank) const {
  if (rank < 0 || rank >= world_) throw std::out_of_range("rank " + std::to_string(rank));
  // Recompute the coordinates directly (coords() calls back into group()).
  int coord[3] = {0, 0, 0};  // D, P, T
  int rest = rank;
  for (auto it = letters_.rbegin(); it != letters_.rend(); ++it) {
    int size = size_of(*it);
    coord[*it == 'D' ? 0 : *it == 'P' ? 1 : 2] = rest % size;
    rest /= size;
  }
  // Which coordinates vary inside the group.
  bool vary_d = false, vary_p = false, vary_t = false;
  switch (kind) {
    case CommGroup::kWorld: vary_d = vary_p = vary_t = true; break;
    case CommGroup::kMp: vary_p = vary_t = true; break;   // one model replica
    case CommGroup::kDp: vary_d = vary_t = true; break;   // same pipeline stage
    case CommGroup::kPp: vary_p = true; break;
    case CommGroup::kTp: vary_t = true; break;
    case CommGroup::kRdp: vary_d = true; break;
  }
  std::vector<int> out;
  for (int d = 0; d < rdp_; ++d) {
    if (!vary_d && d != coord[0]) continue;
    for (int p = 0; p < pp_; ++p) {
      if (!vary_p && p != coord[1]) continue;
      for (int t = 0; t < tp_; ++t) {
        if (!vary_t && t != coord[2]) continue;
        out.push_back(rank_of(d, p, t));
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int Topology::group_size(CommGroup kind) const {
  switch (kind) {
    case CommGroup::kWorld: return world_;
    case CommGroup::kMp: return pp_ * tp_;
    case CommGroup::kDp: return rdp_ * tp_;
    case CommGroup::kPp: return pp_;
    case CommGroup::kTp: return tp_;
    case CommGroup::kRdp: return rdp_;
  }
  return world_;
}

std::vector<std::vector<int>> Topology::all_groups(CommGroup kind) const {
  std::vector<std::vector<int>> out;
  std::vector<bool> seen(world_, false);
  for (int r = 0; r < world_; ++r) {
    if (seen[r]) continue;
    auto g = group(kind, r);
    for (int m : g) seen[m] = true;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace smp::core
