#pragma once
// The equivalence assertion shared by the CPU and GPU tests: a libsmp run and the single-process
// reference of the same TrainConfig give the same losses and parameters within 1e-5 relative.
// Include after catch_torch.h.
#include <cmath>
#include <vector>

#include "harness.h"

namespace smptest {

inline void check_equivalent(const std::vector<TrainConfig>& configs) {
  for (const auto& c : configs) {
    INFO(describe(c));
    auto ref = train_reference(c);
    auto got = train_smp(c);
    REQUIRE(got.losses.size() == ref.losses.size());
    for (size_t s = 0; s < ref.losses.size(); ++s) {
      INFO("step " << s << " loss " << got.losses[s] << " vs reference " << ref.losses[s]);
      CHECK(std::abs(got.losses[s] - ref.losses[s]) <= 1e-5 * std::abs(ref.losses[s]));
    }
    REQUIRE(got.params.size() == ref.params.size());
    for (size_t i = 0; i < ref.params.size(); ++i) {
      INFO("parameter " << ref.params[i].first);
      CHECK(got.params[i].first == ref.params[i].first);
      CHECK(rel_diff(got.params[i].second, ref.params[i].second) <= 1e-5);
    }
  }
}

}  // namespace smptest
