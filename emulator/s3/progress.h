#pragma once
// Progress of batch transfers: human formatting of sizes and rates, the one-line summary, the
// ticker that samples counters for a callback, and a ready printer for terminals.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "emulator/s3/transfer_options.h"

namespace smp::s3 {

std::string format_bytes(uint64_t bytes);        // "1.00 GiB", "512 B"
std::string format_rate(double bytes_per_second);  // "487 MiB/s"

// The result of a batch transfer.
struct TransferSummary {
  std::string verb = "downloaded";  // "downloaded" | "uploaded"
  uint64_t objects = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  // "downloaded 513 objects, 1.00 GiB in 2.1 s (487 MiB/s)"
  std::string text() const;
};

// Samples the shared counters ~5 times a second on its own thread and hands them to the
// callback; finish() sends the last report. No thread at all when the callback is empty.
class ProgressTicker {
 public:
  ProgressTicker(ProgressCallback callback, uint64_t objects_total, uint64_t bytes_total);
  ~ProgressTicker();
  void add_bytes(uint64_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  void sub_bytes(uint64_t n) { bytes_.fetch_sub(n, std::memory_order_relaxed); }  // a retry restarts
  void add_object() { objects_.fetch_add(1, std::memory_order_relaxed); }
  void finish();

 private:
  TransferProgress sample() const;
  ProgressCallback callback_;
  uint64_t objects_total_, bytes_total_;
  std::atomic<uint64_t> bytes_{0}, objects_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Prints "downloading  120/513 objects  300 MiB/1.00 GiB  250 MiB/s" in place on stderr, only
// when stderr is a terminal and not quiet; erases the line at the end.
class TtyProgressPrinter {
 public:
  TtyProgressPrinter(std::string verb, bool quiet, int fd = 2);
  bool active() const { return active_; }
  ProgressCallback callback();  // empty when inactive, so no ticker thread starts

 private:
  std::string verb_;
  int fd_;
  bool active_;
};

}  // namespace smp::s3
