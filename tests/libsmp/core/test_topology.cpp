// Placement tables from the SageMaker SDK docs (smd_model_parallel_general.rst).
#include <catch2/catch_test_macros.hpp>

#include "libsmp/core/topology.h"

using smp::core::CommGroup;
using smp::core::Topology;
using Groups = std::vector<std::vector<int>>;

TEST_CASE("spread, 8 processes, partitions=2", "[topology]") {
  Topology t(8, 2, 1, "spread");
  CHECK(t.letters() == "TPD");
  CHECK(t.all_groups(CommGroup::kMp) == Groups{{0, 4}, {1, 5}, {2, 6}, {3, 7}});
  CHECK(t.all_groups(CommGroup::kDp) == Groups{{0, 1, 2, 3}, {4, 5, 6, 7}});
  CHECK(t.coords(6).dp_rank == 2);  // "the dp_rank of process 6 is 2"
  for (int r = 0; r < 4; ++r) CHECK(t.coords(r).mp_rank == 0);
  for (int r = 4; r < 8; ++r) CHECK(t.coords(r).mp_rank == 1);
}

TEST_CASE("cluster, 8 processes, partitions=2", "[topology]") {
  Topology t(8, 2, 1, "cluster");
  CHECK(t.letters() == "DPT");
  CHECK(t.all_groups(CommGroup::kMp) == Groups{{0, 1}, {2, 3}, {4, 5}, {6, 7}});
  CHECK(t.all_groups(CommGroup::kDp) == Groups{{0, 2, 4, 6}, {1, 3, 5, 7}});
  CHECK(t.coords(5).pp_rank == 1);
  CHECK(t.coords(5).dp_rank == 2);
}

namespace {
struct Row { int rank, rdp, pp, tp; };
void check_table(const Topology& t, const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    auto c = t.coords(row.rank);
    INFO("rank " << row.rank);
    CHECK(c.rdp_rank == row.rdp);
    CHECK(c.pp_rank == row.pp);
    CHECK(c.tp_rank == row.tp);
    CHECK(t.rank_of(row.rdp, row.pp, row.tp) == row.rank);
  }
}
}  // namespace

TEST_CASE("DPT with tp = pp = rdp = 2", "[topology]") {
  Topology t(8, 2, 2, "DPT");
  check_table(t, {{0, 0, 0, 0}, {1, 0, 0, 1}, {2, 0, 1, 0}, {3, 0, 1, 1},
                  {4, 1, 0, 0}, {5, 1, 0, 1}, {6, 1, 1, 0}, {7, 1, 1, 1}});
  CHECK(t.group(CommGroup::kTp, 2) == std::vector<int>{2, 3});
  CHECK(t.group(CommGroup::kRdp, 2) == std::vector<int>{2, 6});
  CHECK(t.group(CommGroup::kDp, 2) == std::vector<int>{2, 3, 6, 7});  // TP ⊂ DP
  CHECK(t.group(CommGroup::kMp, 2) == std::vector<int>{0, 1, 2, 3});
  CHECK(t.group(CommGroup::kPp, 2) == std::vector<int>{0, 2});
  CHECK(t.dp_size() == 4);
  CHECK(t.mp_size() == 4);
}

TEST_CASE("PTD with tp = pp = rdp = 2", "[topology]") {
  Topology t(8, 2, 2, "PTD");
  check_table(t, {{0, 0, 0, 0}, {1, 1, 0, 0}, {2, 0, 0, 1}, {3, 1, 0, 1},
                  {4, 0, 1, 0}, {5, 1, 1, 0}, {6, 0, 1, 1}, {7, 1, 1, 1}});
  CHECK(t.group(CommGroup::kRdp, 0) == std::vector<int>{0, 1});
  CHECK(t.group(CommGroup::kTp, 0) == std::vector<int>{0, 2});
}

TEST_CASE("every rank appears in exactly one group of each kind", "[topology]") {
  for (const char* placement : {"cluster", "spread", "DPT", "DTP", "PDT", "PTD", "TDP", "TPD"}) {
    Topology t(24, 3, 2, placement);
    for (auto kind : {CommGroup::kMp, CommGroup::kDp, CommGroup::kPp, CommGroup::kTp, CommGroup::kRdp}) {
      auto groups = t.all_groups(kind);
      CHECK(groups.size() * t.group_size(kind) == 24u);
      for (const auto& g : groups) CHECK(static_cast<int>(g.size()) == t.group_size(kind));
    }
  }
}

TEST_CASE("bad placements and sizes are refused", "[topology]") {
  CHECK_THROWS(Topology(8, 2, 1, "DPP"));
  CHECK_THROWS(Topology(8, 2, 1, "round-robin"));
  CHECK_THROWS(Topology(6, 4, 1, "cluster"));
}
