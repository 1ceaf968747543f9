#pragma once
// CommGroup / RankType: SMP's names for its process groups and for how a peer rank number is
// read (smdistributed.modelparallel's smp.CommGroup and smp.RankType, C++ spelling).

#include <string>

namespace smp {

enum class CommGroup { WORLD, MP_GROUP, DP_GROUP, PP_GROUP, TP_GROUP, RDP_GROUP };

// smp.WORLD, smp.MP_GROUP, smp.DP_GROUP aliases.
inline constexpr CommGroup WORLD = CommGroup::WORLD;
inline constexpr CommGroup MP_GROUP = CommGroup::MP_GROUP;
inline constexpr CommGroup DP_GROUP = CommGroup::DP_GROUP;
inline constexpr CommGroup PP_GROUP = CommGroup::PP_GROUP;
inline constexpr CommGroup TP_GROUP = CommGroup::TP_GROUP;
inline constexpr CommGroup RDP_GROUP = CommGroup::RDP_GROUP;

enum class RankType { WORLD_RANK, MP_RANK, DP_RANK };

std::string to_string(CommGroup group);
std::string to_string(RankType type);

}  // namespace smp
