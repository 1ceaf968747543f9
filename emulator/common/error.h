#pragma once
// Error types of smp-local: a user-facing Error (message + optional fix) and the list of
// pre-flight Problems shared with libsmp's core.

#include <stdexcept>
#include <string>

#include "libsmp/core/problem.h"

namespace smplocal {

using smp::core::Problem;
using smp::core::Problems;
using smp::core::Severity;

// An error a user can act on; `what()` says what went wrong, `fix()` how to fix it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, std::string fix = "")
      : std::runtime_error(what), fix_(std::move(fix)) {}
  const std::string& fix() const { return fix_; }

 private:
  std::string fix_;
};

inline Problem error_problem(std::string field, std::string message, std::string fix = "") {
  return {std::move(field), std::move(message), std::move(fix), Severity::kError};
}
inline Problem warning_problem(std::string field, std::string message, std::string fix = "") {
  return {std::move(field), std::move(message), std::move(fix), Severity::kWarning};
}

}  // namespace smplocal
