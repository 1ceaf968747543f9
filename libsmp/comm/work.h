#pragma once
// Work: one outstanding communication (like c10d's Work) — polled with test(), never blocking,
// so a single thread can drive many of them (the pipeline scheduler does) — and the waiting
// helpers that poll with backoff and give up after a timeout instead of hanging.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace smp::comm {

class Work {
 public:
  virtual ~Work() = default;
  // Advances the operation; true once it has completed (and from then on).
  virtual bool test() = 0;
};
using WorkPtr = std::shared_ptr<Work>;

// A Work whose result is a byte string (receive of unknown size, broadcast of bytes).
class BytesWork : public Work {
 public:
  virtual std::string& result() = 0;
};
using BytesWorkPtr = std::shared_ptr<BytesWork>;

// A Work whose result is one byte string per group member (allgather of bytes).
class GatherWork : public Work {
 public:
  virtual std::vector<std::string>& result() = 0;
};
using GatherWorkPtr = std::shared_ptr<GatherWork>;

// A Work that is already complete (e.g. a collective on a group of one).
class DoneWork : public Work {
 public:
  bool test() override { return true; }
};

// Backoff for polling loops: yield for ~100 us, then sleep with doubling pauses up to a cap,
// so a rank waiting on a peer does not take a core from the ranks doing the work (ranks are
// oversubscribed on small machines).
class Backoff {
 public:
  explicit Backoff(std::chrono::microseconds cap = std::chrono::microseconds(50)) : cap_(cap) {}
  void pause();
  void reset() {
    tries_ = 0;
    sleeps_ = 0;
  }

 private:
  std::chrono::microseconds cap_;
  int tries_ = 0, sleeps_ = 0;
  std::chrono::steady_clock::time_point spin_until_;
};

// Polls `work` until it completes. After `timeout` throws smp::TimeoutError whose message is
// "timed out after T s waiting for <what()>" plus a hint about SMP_RECV_TIMEOUT_S.
void wait(Work& work, std::chrono::duration<double> timeout, const std::function<std::string()>& what);

// Called on every pause of wait() with what it waits for (the runtime installs its check for a
// peer's timeout notice here; nullptr: none).
using WaitHook = void (*)(const std::function<std::string()>& what);
void set_wait_hook(WaitHook hook);

std::string timeout_message(std::chrono::duration<double> timeout, const std::string& what);

}  // namespace smp::comm
