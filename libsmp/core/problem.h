#pragma once
// Problem: one user-facing finding (where, what is wrong, how to fix it) shared by the
// emulator's pre-flight and libsmp's init so both report the same words.

#include <string>
#include <vector>

namespace smp::core {

enum class Severity { kError, kWarning };

struct Problem {
  std::string field;    // where: "distribution.smdistributed.modelparallel.parameters.pipeline"
  std::string message;  // what is wrong; SDK-originated checks use the SDK's exact text
  std::string fix;      // how to fix it; may be empty when the message already says it
  Severity severity = Severity::kError;
};

using Problems = std::vector<Problem>;

inline bool has_errors(const Problems& problems) {
  for (const auto& p : problems)
    if (p.severity == Severity::kError) return true;
  return false;
}

}  // namespace smp::core
