#include "emulator/archive/archive_error.h"

#include <cstring>

namespace smplocal::archive {

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace smplocal::archive
