#include "emulator/supervise/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "emulator/supervise/process_tree.h"

namespace smplocal {
namespace {

using Clock = std::chrono::steady_clock;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGCHLD);
  return set;
}

}  // namespace

void prepare_supervision() {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set = stop_signals();
  sigprocmask(SIG_BLOCK, &set, nullptr);  // delivered through a signalfd while supervising
  signal(SIGPIPE, SIG_IGN);
}

SuperviseResult supervise(std::vector<SupervisedProcess> processes, const SuperviseOptions& o) {
  SuperviseResult result;
  auto start = Clock::now();
  sigset_t set = stop_signals();
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

  LogRouter router(o.processes_per_host, [&](const LogLine& l) {
    if (o.on_line) o.on_line(l);
  });

  struct Stream { int fd; std::string host; bool is_stderr; int id; };
  std::vector<Stream> streams;
  std::map<pid_t, std::string> running;  // pid → host
  int next_id = 0;
  for (auto& p : processes) {
    p.spawn.capture_stdout = p.spawn.capture_stderr = true;
    p.spawn.die_with_parent = true;
    Child c = spawn(p.spawn);
    running[c.pid] = p.host;
    streams.push_back({c.stdout_fd, p.host, false, next_id++});
    streams.push_back({c.stderr_fd, p.host, true, next_id++});
  }

  const auto kNever = Clock::time_point::max();
  Clock::time_point kill_at = kNever;  // when the grace period ends
  auto begin_stop = [&](StopCause cause) {
    if (result.stop != StopCause::kNone) return;
    result.stop = cause;
    if (o.on_stopping) o.on_stopping(cause);
    signal_descendants(getpid(), SIGTERM, /*ranks_only=*/true);
    kill_at = Clock::now() + o.stop_grace;
  };
  auto deadline = start + o.max_runtime;
  char buf[65536];

  while (!running.empty() || !streams.empty()) {
    std::vector<pollfd> fds;
    for (const auto& s : streams) fds.push_back({s.fd, POLLIN, 0});
    fds.push_back({sfd, POLLIN, 0});
    auto now = Clock::now();
    // No spinning during a grace period: wake for the deadline or the end of the grace.
    auto next = std::min(result.stop == StopCause::kNone ? deadline : kNever, kill_at);
    int timeout = static_cast<int>(std::clamp<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count(), 0, 250));
    int rc = poll(fds.data(), fds.size(), timeout);
    if (rc < 0 && errno != EINTR) break;

    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Stream& s = streams[i];
      ssize_t n = read(s.fd, buf, sizeof buf);
      if (n > 0) {
        router.feed(s.id, s.host, s.is_stderr, buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(s.fd);
        s.fd = -1;
      }
    }
    streams.erase(std::remove_if(streams.begin(), streams.end(), [](const Stream& s) { return s.fd < 0; }),
                  streams.end());

    if (fds.back().revents & POLLIN) {
      signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) continue;
        if (result.stop == StopCause::kNone) {
          begin_stop(StopCause::kSignal);
        } else {
          kill_at = Clock::now();  // a second Ctrl-C: no more grace
        }
      }
    }
    // Reap: our launchers, and orphans that reparented to us (we are a subreaper).
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = running.find(pid);
      if (it == running.end()) continue;
      int code = 0, sig = 0;
      decode_wait_status(status, code, sig);
      if ((code != 0 || sig != 0) && result.exit_code == 0 && result.signal == 0) {
        result.exit_code = code;
        result.signal = sig;
        result.failed_host = it->second;
        // Per-host runner: one host failing fails the job; stop the others now, with the same
        // grace before SIGKILL as any stop.
        if (processes.size() > 1) {
          signal_descendants(getpid(), SIGTERM, false);
          if (kill_at == kNever) kill_at = Clock::now() + o.stop_grace;
        }
      }
      running.erase(it);
    }
    now = Clock::now();
    const bool failing = result.exit_code != 0 || result.signal != 0;  // already on its way out
    if (now >= deadline && result.stop == StopCause::kNone && !failing && !running.empty())
      begin_stop(StopCause::kMaxRuntime);
    if (kill_at != kNever && now >= kill_at && !running.empty()) {
      result.killed_after_grace = true;
      signal_descendants(getpid(), SIGKILL, false);
      kill_at = kNever;
    }
    if (running.empty() && !streams.empty()) {
      // The launchers are gone; whatever still holds the pipes (a stray rank) must go too.
      signal_descendants(getpid(), SIGKILL, false);
    }
  }
  router.flush();
  kill_all_descendants(getpid());
  close(sfd);

  result.failure = router.failure();
  if (result.failure && result.failure->rank >= 0) {
    const auto& tail = router.stderr_tail(result.failure->rank);
    result.stderr_tail.assign(tail.begin(), tail.end());
  } else if (!result.failed_host.empty()) {
    const auto& tail = router.host_stderr_tail(result.failed_host);
    result.stderr_tail.assign(tail.begin(), tail.end());
  }
  if (result.stderr_tail.empty()) {
    const auto& tail = router.launcher_stderr_tail();
    result.stderr_tail.assign(tail.begin(), tail.end());
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace smplocal
