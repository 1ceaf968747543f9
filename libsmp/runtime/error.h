#pragma once
// Error: every failure libsmp reports to its caller — a message that says what went wrong, where,
// and how to fix it. TimeoutError is the subtype for a peer that never answered.

#include <stdexcept>
#include <string>

namespace smp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A blocking wait on a peer (or a collective) exceeded the receive timeout (SMP_RECV_TIMEOUT_S).
class TimeoutError : public Error {
 public:
  explicit TimeoutError(const std::string& message) : Error(message) {}
};

}  // namespace smp
