// Equivalence under mpirun: for an MLP and a CNN, 5 optimizer steps through libsmp give the same
// losses and parameters (within 1e-5 relative) as one process training on the whole batch, over
// pipeline degrees, data-parallel degrees, microbatches, schedules, placements and partitioning
// modes that fit the world size mpirun started. "[equiv]" runs a representative cross-product;
// "[equiv-full]" the full one (label long).
#include "catch_torch.h"

#include "equivalence_check.h"
#include "harness.h"

using smptest::check_equivalent;
using smptest::TrainConfig;

namespace {

// (pp, dp) layouts whose product is the world size, with pp in {1,2,4} and dp in {1,2}.
std::vector<std::pair<int, int>> layouts(int world) {
  std::vector<std::pair<int, int>> out;
  for (int pp : {1, 2, 4})
    for (int dp : {1, 2})
      if (pp * dp == world) out.emplace_back(pp, dp);
  return out;
}

std::vector<TrainConfig> full_product(int world) {
  std::vector<TrainConfig> out;
  for (auto [pp, dp] : layouts(world))
    for (const char* model : {"mlp", "cnn"})
      for (int mb : {1, 2, 4, 8})
        for (const char* pipeline : {"simple", "interleaved"})
          for (const char* placement : {"cluster", "spread"})
            for (bool autop : {false, true}) {
              // With one stage, placement and partitioning change nothing: run them once.
              if (pp == 1 && (autop || std::string(placement) == "spread") && dp == 1) continue;
              if (pp == 1 && autop) continue;
              TrainConfig c;
              c.model = model;
              c.pp = pp;
              c.dp = dp;
              c.microbatches = mb;
              c.pipeline = pipeline;
              c.placement = placement;
              c.auto_partition = autop;
              out.push_back(c);
            }
  return out;
}

// A covering subset: every value of every dimension, varied together, 8 configs per layout.
std::vector<TrainConfig> representative(int world) {
  std::vector<TrainConfig> out;
  const int mbs[] = {1, 2, 4, 8};
  for (auto [pp, dp] : layouts(world))
    for (int i = 0; i < 8; ++i) {
      TrainConfig c;
      c.pp = pp;
      c.dp = dp;
      c.microbatches = mbs[i % 4];
      c.pipeline = (i % 2) ? "interleaved" : "simple";
      c.placement = (i / 2 % 2) ? "spread" : "cluster";
      c.auto_partition = pp > 1 && (i / 4 % 2);
      c.model = ((i + i / 4) % 2) ? "cnn" : "mlp";
      if (pp * dp == 1 && i >= 4) continue;  // placement/partition are moot on one rank
      out.push_back(c);
    }
  return out;
}

}  // namespace

TEST_CASE("libsmp training equals the single-process reference (representative)", "[equiv]") {
  check_equivalent(representative(smptest::world_size_from_env()));
}

TEST_CASE("libsmp training equals the single-process reference (full product)", "[.][equiv-full]") {
  check_equivalent(full_product(smptest::world_size_from_env()));
}
