#include "libsmp/comm/work.h"

#include <atomic>

#include <sched.h>
#include <sys/prctl.h>

#include <cstdio>
#include <thread>

#include "libsmp/runtime/error.h"

namespace smp::comm {

void Backoff::pause() {
  // Linux rounds sleeps up by the thread's timer slack (50 us by default), which would put a
  // floor under how fast a waiting rank notices its peer's message; 1 us keeps short sleeps short.
  static thread_local bool slack_set = false;
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    slack_set = true;
  }
  // First ~100 us: yield (a peer's answer usually comes within that, and a core kept awake
  // answers faster than one woken from an idle state); then sleep 5, 10, 20 ... up to the cap.
  if (tries_++ == 0) spin_until_ = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
  if (std::chrono::steady_clock::now() < spin_until_) {
    sched_yield();
    return;
  }
  auto pause = std::chrono::microseconds(5) * (1LL << std::min(sleeps_++, 20));
  if (pause > cap_) pause = cap_;
  std::this_thread::sleep_for(pause);
}

std::string timeout_message(std::chrono::duration<double> timeout, const std::string& what) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", timeout.count());
  return std::string("timed out after ") + seconds + " s waiting for " + what +
         ". The peer may have died, hung, or diverged from this rank's sequence of calls "
         "(check the other ranks' logs). If it is only slow, raise SMP_RECV_TIMEOUT_S.";
}

namespace {
std::atomic<WaitHook> g_wait_hook{nullptr};
}  // namespace

void set_wait_hook(WaitHook hook) { g_wait_hook = hook; }

void wait(Work& work, std::chrono::duration<double> timeout,
          const std::function<std::string()>& what) {
  if (work.test()) return;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  Backoff backoff;
  while (!work.test()) {
    if (std::chrono::steady_clock::now() > deadline) throw TimeoutError(timeout_message(timeout, what()));
    if (WaitHook hook = g_wait_hook) hook(what);
    backoff.pause();
  }
}

}  // namespace smp::comm
