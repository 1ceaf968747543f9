#pragma once
// Topology: SMP's placement of world ranks onto pipeline / tensor / reduced-data-parallel
// coordinates and the communication groups derived from them.
//
// A placement string is a permutation of "D" (reduced data parallel), "P" (pipeline) and
// "T" (tensor); the right-most letter varies fastest over consecutive global ranks.
// "cluster" == "DPT", "spread" == "TPD" (SageMaker SDK docs, smd_model_parallel_general.rst).
// Within a group, a rank's group rank is its index in the group's ascending list of global ranks.

#include <string>
#include <vector>

namespace smp::core {

enum class CommGroup { kWorld, kMp, kDp, kPp, kTp, kRdp };

std::string to_string(CommGroup group);

struct RankCoords {
  int rank = 0;
  int pp_rank = 0;
  int tp_rank = 0;
  int rdp_rank = 0;
  int dp_rank = 0;  // rank within the DP group (same pp_rank)
  int mp_rank = 0;  // rank within the MP group (same rdp_rank)
};

class Topology {
 public:
  // Throws std::invalid_argument with an actionable message on a bad placement or sizes.
  Topology(int world_size, int pp_size, int tp_size, const std::string& placement);

  int world_size() const { return world_; }
  int pp_size() const { return pp_; }
  int tp_size() const { return tp_; }
  int rdp_size() const { return rdp_; }
  int dp_size() const { return tp_ * rdp_; }
  int mp_size() const { return pp_ * tp_; }
  const std::string& letters() const { return letters_; }

  RankCoords coords(int rank) const;
  // Global rank of the given (rdp, pp, tp) coordinates.
  int rank_of(int rdp_rank, int pp_rank, int tp_rank) const;
  // Ascending global ranks of `group` that contain `rank`.
  std::vector<int> group(CommGroup group, int rank) const;
  int group_size(CommGroup group) const;
  // Every distinct group of a kind, each ascending, ordered by their first rank.
  std::vector<std::vector<int>> all_groups(CommGroup group) const;

  // Normalizes "cluster"/"spread" to letters; throws on anything but a permutation of DPT.
  static std::string letters_for(const std::string& placement);

 private:
  int size_of(char letter) const;
  int world_, pp_, tp_, rdp_;
  std::string letters_;
};

}  // namespace smp::core
