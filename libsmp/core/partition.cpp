#include "libsmp/core/partition.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace smp::core {

std::vector<double> partition_costs(const std::vector<ChildProfile>& children,
                                    double memory_weight) {
  double total_time = 0, total_mem = 0;
  for (const auto& c : children) {
    total_time += c.seconds;
    total_mem += c.param_bytes + c.activation_bytes;
  }
  std::vector<double> out;
  out.reserve(children.size());
  for (const auto& c : children) {
    double t = total_time > 0 ? c.seconds / total_time : 0;
    double m = total_mem > 0 ? (c.param_bytes + c.activation_bytes) / total_mem : 0;
    out.push_back((1 - memory_weight) * t + memory_weight * m);
  }
  return out;
}

std::vector<int> balance_stages(const std::vector<double>& costs, int stages) {
  const int n = static_cast<int>(costs.size());
  if (stages < 1 || stages > n)
    throw std::invalid_argument("cannot split " + std::to_string(n) + " children into " +
                                std::to_string(stages) + " non-empty pipeline stages");
  std::vector<double> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + costs[i];
  auto seg = [&](int a, int b) { return prefix[b] - prefix[a]; };  // items [a, b)
  const double inf = std::numeric_limits<double>::infinity();
  // best[k][i]: minimal max-cost of splitting items [i, n) into k stages.
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, inf));
  best[0][n] = 0;
  for (int k = 1; k <= stages; ++k)
    for (int i = n - k; i >= 0; --i)
      for (int j = i + 1; j <= n - (k - 1); ++j)
        best[k][i] = std::min(best[k][i], std::max(seg(i, j), best[k - 1][j]));
  // Walk forward choosing the smallest end for each stage that keeps the optimum: a relative
  // epsilon absorbs floating-point noise so equal splits tie-break deterministically.
  const double target = best[stages][0];
  const double eps = 1e-12 * std::max(1.0, std::abs(target));
  std::vector<int> out(n, 0);
  int start = 0;
  for (int k = stages; k >= 1; --k) {
    int end = n;
    if (k > 1) {
      for (int j = start + 1; j <= n - (k - 1); ++j) {
        if (seg(start, j) <= target + eps && best[k - 1][j] <= target + eps) {
          end = j;
          // Prefer a larger first stage while it stays optimal: keep extending.
          for (int j2 = j + 1; j2 <= n - (k - 1); ++j2) {
            if (seg(start, j2) <= target + eps && best[k - 1][j2] <= target + eps) end = j2;
            else if (seg(start, j2) > target + eps) break;
          }
          break;
        }
      }
    }
    for (int i = start; i < end; ++i) out[i] = stages - k;
    start = end;
  }
  return out;
}

}  // namespace smp::core
