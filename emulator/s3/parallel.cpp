#include "emulator/s3/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace smp::s3 {

void run_parallel(size_t count, int workers, const std::function<void(size_t)>& task) {
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
    team.reserve(threads);
    for (size_t t = 0; t < threads; ++t) team.emplace_back(worker);
    for (auto& t : team) t.join();
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace smp::s3
