// run_parallel: every task once, on the requested number of threads, first failure rethrown.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "emulator/common/parallel.h"

using smplocal::run_parallel;

TEST_CASE("run_parallel runs every task exactly once", "[common][unit]") {
  std::vector<std::atomic<int>> hits(100);
  run_parallel(hits.size(), 4, [&](size_t i) { ++hits[i]; });
  for (const auto& h : hits) CHECK(h == 1);
  run_parallel(0, 4, [&](size_t) { FAIL("no task to run"); });
}

TEST_CASE("run_parallel uses min(workers, tasks) threads, the caller's among them",
          "[common][unit]") {
  std::mutex m;
  std::set<std::thread::id> seen;
  std::atomic<int> waiting{0};
  // Each task waits until 3 tasks are running at once, so 3 distinct threads must exist.
  run_parallel(3, 8, [&](size_t) {
    {
      std::lock_guard lock(m);
      seen.insert(std::this_thread::get_id());
    }
    ++waiting;
    while (waiting < 3) std::this_thread::yield();
  });
  CHECK(seen.size() == 3);
  CHECK(seen.count(std::this_thread::get_id()) == 1);

  seen.clear();
  run_parallel(5, 1, [&](size_t) { seen.insert(std::this_thread::get_id()); });
  CHECK(seen == std::set<std::thread::id>{std::this_thread::get_id()});  // one worker: inline
}

TEST_CASE("run_parallel rethrows the first failure and starts nothing after it", "[common][unit]") {
  std::atomic<int> started{0};
  CHECK_THROWS_WITH(run_parallel(1000, 1,
                                 [&](size_t i) {
                                   ++started;
                                   if (i == 3) throw std::runtime_error("task 3 failed");
                                 }),
                    "task 3 failed");
  CHECK(started == 4);
}
