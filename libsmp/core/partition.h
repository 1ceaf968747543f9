#pragma once
// partition: auto-partitioning's arithmetic — per-child costs from measured time and memory
// (weighted by memory_weight) and the split of an ordered child list into contiguous,
// cost-balanced pipeline stages. Pure functions; libsmp measures, these decide.

#include <string>
#include <vector>

namespace smp::core {

struct ChildProfile {
  std::string name;
  double seconds = 0;         // forward time of one microbatch
  double param_bytes = 0;     // parameters + buffers
  double activation_bytes = 0;  // the child's output for one microbatch
};

// cost_i = (1 - w) * time_i / sum(time) + w * mem_i / sum(mem), mem = params + activations.
// A zero total (e.g. no parameters anywhere) contributes nothing for that term.
std::vector<double> partition_costs(const std::vector<ChildProfile>& children, double memory_weight);

// Splits items 0..n-1 (in order) into `stages` contiguous non-empty groups minimizing the most
// expensive group; ties are broken deterministically by giving each earlier stage as many items
// as the optimum allows. Returns the stage of every item. Requires 1 <= stages <= n (throws std::invalid_argument otherwise).
std::vector<int> balance_stages(const std::vector<double>& costs, int stages);

}  // namespace smp::core
