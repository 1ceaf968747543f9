#pragma once
// Helpers shared by the emulator's tests.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "emulator/common/error.h"
#include "emulator/spec/spec.h"

namespace smplocal {

// A fresh directory under the temp dir, removed with everything in it at the end of the scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "smp-test") {
    path = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// A fixed clock (2024-05-01 12:00:00.123 UTC) and region so names and hyperparameters are exact.
inline SpecContext test_context(const std::filesystem::path& dir) {
  SpecContext ctx;
  ctx.spec_dir = dir;
  ctx.default_region = "us-west-2";
  ctx.default_output_path = "/jobs";
  ctx.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714564800123LL));
  return ctx;
}

inline bool has_message(const Problems& problems, const std::string& message) {
  for (const auto& p : problems)
    if (p.message == message) return true;
  return false;
}

inline bool has_message_containing(const Problems& problems, const std::string& part) {
  for (const auto& p : problems)
    if (p.message.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace smplocal
