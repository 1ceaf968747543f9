#pragma once
// ArchiveError: what went wrong while writing or extracting an archive, phrased for the user
// (which file or member, what is wrong, what to do about it).

#include <stdexcept>
#include <string>

namespace smplocal::archive {

// The one exception type of the archive library; what() is a complete, actionable message.
class ArchiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<what>: <strerror(errno)>" — for failed system calls on a named path.
std::string errno_message(const std::string& what, int err);

}  // namespace smplocal::archive
