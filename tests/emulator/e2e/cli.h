#pragma once
// Running the real smp-local binary from tests, in a private jobs directory.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "emulator/common/process.h"
#include "libsmp/core/json.h"

namespace smplocal::e2e {

namespace fs = std::filesystem;
using smp::core::Json;

inline fs::path binary() { return fs::path(SMP_BINARY_DIR) / "bin" / "smp-local"; }
inline fs::path fixture(const std::string& rel) { return fs::path(SMP_SOURCE_DIR) / "fixtures" / rel; }

// A jobs directory removed at the end of the test.
struct JobsDir {
  fs::path path;
  JobsDir() {
    path = fs::temp_directory_path() / ("smp-e2e-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(path);
  }
  ~JobsDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  // The only job directory in it.
  fs::path job() const {
    for (const auto& e : fs::directory_iterator(path)) return e.path();
    return {};
  }
};

inline RunResult smp_local(std::vector<std::string> args, const std::vector<std::pair<std::string, std::string>>& extra_env = {},
                           int timeout_s = 120) {
  args.insert(args.begin(), binary().string());
  EnvMap env = current_environment();
  for (const auto& [k, v] : extra_env) env[k] = v;
  return run_capture(args, std::chrono::seconds(timeout_s), env);
}

inline Json read_json(const fs::path& p) {
  std::ifstream in(p);
  return Json::parse(in);
}

// Processes whose command line contains `marker` (to prove nothing of a job survives it).
inline int processes_with(const std::string& marker) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(marker) != std::string::npos && std::to_string(getpid()) != e.path().filename().string()) ++n;
  }
  return n;
}

inline bool python_available() { return access("/usr/bin/python3", X_OK) == 0; }

}  // namespace smplocal::e2e
