#pragma once
// Shared by the samples' end-to-end tests: where the built samples are, and small readers.

#include <unistd.h>

#include <set>
#include <sstream>
#include <string>

#include "tests/emulator/e2e/cli.h"

namespace samples_e2e {

using namespace smplocal::e2e;

// The directory holding the built fashion_mnist executable, or "" when LibTorch was not found.
inline std::string fashion_mnist_bin() {
#ifdef SAMPLES_FASHION_MNIST_BIN
  return SAMPLES_FASHION_MNIST_BIN;
#else
  return "";
#endif
}

inline std::string mp_probe_bin() {
#ifdef SAMPLES_MP_PROBE_BIN
  return SAMPLES_MP_PROBE_BIN;
#else
  return "";
#endif
}

inline constexpr const char* kNoTorch =
    "LibTorch was not found when this build was configured, so libsmp's LibTorch part and the C++ "
    "samples were not built (install libtorch-dev: scripts/install-deps.sh, then reconfigure)";

inline fs::path source(const std::string& rel) { return fs::path(SMP_SOURCE_DIR) / rel; }

inline std::set<std::string> tar_listing(const fs::path& tarball) {
  auto r = smplocal::run_capture({"tar", "-tzf", tarball.string()});
  std::set<std::string> names;
  if (r.exit_code != 0) return names;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("./", 0) == 0) line = line.substr(2);
    names.insert(line);
  }
  return names;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Debian's python3-torch, which the Python sample (and the model-file cross-check) need.
inline bool python_has_torch() {
  if (!python_available()) return false;
  auto r = smplocal::run_capture({"/usr/bin/python3", "-c", "import torch, numpy"},
                                 std::chrono::seconds(120));
  return r.exit_code == 0;
}

}  // namespace samples_e2e
