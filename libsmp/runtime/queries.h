#pragma once
// Queries: where this process sits — global and per-host ranks, its coordinates in the pipeline /
// tensor / data-parallel groups and the member lists of those groups (smp.rank(), smp.pp_rank(),
// smp.get_dp_group(), ...). Every query throws smp::Error before smp::init().

#include <vector>

#include "libsmp/runtime/groups.h"

namespace smp {

int rank();        // global rank (MPI_COMM_WORLD)
int size();        // world size
int local_rank();  // rank among the processes of this host
int local_size();  // processes on this host

int mp_rank();  int mp_size();   // within the model replica (pipeline x tensor)
int dp_rank();  int dp_size();   // among the ranks holding the same partition
int pp_rank();  int pp_size();   // pipeline stage
int tp_rank();  int tp_size();
int rdp_rank(); int rdp_size();

// Ascending global ranks of this process's group.
std::vector<int> get_group(CommGroup group);
std::vector<int> get_world_group();
std::vector<int> get_mp_group();
std::vector<int> get_dp_group();
std::vector<int> get_pp_group();
std::vector<int> get_tp_group();
std::vector<int> get_rdp_group();

// Rank of this process within `group` (its index in get_group(group)).
int group_rank(CommGroup group);
int group_size(CommGroup group);

// Global rank of the peer numbered `peer` under `type`, seen from this process (MP_RANK: the
// member of my MP group with that mp_rank; DP_RANK: of my DP group).
int global_rank_of(int peer, RankType type);

}  // namespace smp
