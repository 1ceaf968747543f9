#pragma once
// run_parallel: a fixed team of worker threads draining one list of tasks, stopping at the first
// failure. The S3 transfer manager flattens every object and part into one such list; staging
// builds the hosts' trees with it, packaging writes model.tar.gz and output.tar.gz side by side.
// Header-only, so the s3 and archive libraries use it without depending on smp_emulator.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace smplocal {

// Calls task(i) for i in [0, count) on min(workers, count) threads (inline when that is 1).
// After the first exception no new task starts; running ones finish; the exception is rethrown.
inline void run_parallel(size_t count, int workers, const std::function<void(size_t)>& task) {
  if (count == 0) return;
  const size_t threads = std::min<size_t>(count, static_cast<size_t>(std::max(1, workers)));
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr first;
  std::mutex first_mutex;
  auto worker = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1);
      if (i >= count) return;
      try {
        task(i);
      } catch (...) {
        std::lock_guard lock(first_mutex);
        if (!first) first = std::current_exception();
        stop = true;
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> team;
    team.reserve(threads - 1);
    for (size_t t = 1; t < threads; ++t) team.emplace_back(worker);
    worker();  // the calling thread is one of the team
    for (auto& t : team) t.join();
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace smplocal
