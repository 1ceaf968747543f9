#include "emulator/common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "emulator/common/error.h"

extern char** environ;

namespace smplocal {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(int err_pipe, int err) {
  (void)!write(err_pipe, &err, sizeof err);
  _exit(127);
}

}  // namespace

std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    struct stat st{};
    if (stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(cand.c_str(), X_OK) == 0)
      return cand;
    start = end + 1;
  }
  return "";
}

EnvMap current_environment() {
  EnvMap env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

void decode_wait_status(int status, int& exit_code, int& signal) {
  exit_code = -1;
  signal = 0;
  if (WIFEXITED(status)) exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) signal = WTERMSIG(status);
}

Child spawn(const SpawnOptions& o) {
  if (o.argv.empty()) throw Error("internal: spawn with an empty argv");
  std::string program = which(o.argv[0]);
  if (program.empty())
    throw Error("cannot run \"" + o.argv[0] + "\": not found or not executable",
                "Install it or put it on PATH.");
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2];
  if (o.capture_stdout && pipe2(out_pipe, O_CLOEXEC) != 0) throw Error("pipe: " + std::string(strerror(errno)));
  if (o.capture_stderr && pipe2(err_pipe, O_CLOEXEC) != 0) throw Error("pipe: " + std::string(strerror(errno)));
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) throw Error("pipe: " + std::string(strerror(errno)));

  // Build everything the child needs before fork (no allocation after fork).
  std::vector<char*> argv = c_argv(o.argv);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  if (o.env) {
    for (const auto& [k, v] : *o.env) env_strings.push_back(k + "=" + v);
    envp = c_argv(env_strings);
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw Error("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    if (o.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
    }
    if (o.new_process_group) setpgid(0, 0);
    // Signals ignored/blocked by us must not leak into the child.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (o.stdin_fd >= 0) {
      dup2(o.stdin_fd, 0);
    } else if (o.stdin_null) {
      int fd = open("/dev/null", O_RDONLY);
      if (fd >= 0) dup2(fd, 0);
    }
    if (o.capture_stdout) dup2(out_pipe[1], 1);
    if (o.capture_stderr) dup2(err_pipe[1], 2);
    if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) child_fail(exec_pipe[1], errno);
    if (o.env) execve(program.c_str(), argv.data(), envp.data());
    else execv(program.c_str(), argv.data());
    child_fail(exec_pipe[1], errno);
  }
  close(exec_pipe[1]);
  int child_errno = 0;
  ssize_t n = read(exec_pipe[0], &child_errno, sizeof child_errno);
  close(exec_pipe[0]);
  if (o.capture_stdout) close(out_pipe[1]);
  if (o.capture_stderr) close(err_pipe[1]);
  if (n == sizeof child_errno) {
    waitpid(pid, nullptr, 0);
    if (o.capture_stdout) close(out_pipe[0]);
    if (o.capture_stderr) close(err_pipe[0]);
    throw Error("cannot run \"" + program + "\"" + (o.cwd.empty() ? "" : " in " + o.cwd) + ": " +
                strerror(child_errno));
  }
  return Child{pid, o.capture_stdout ? out_pipe[0] : -1, o.capture_stderr ? err_pipe[0] : -1};
}

RunResult run_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::optional<EnvMap>& env, const std::string& cwd) {
  SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.cwd = cwd;
  o.capture_stdout = o.capture_stderr = true;
  o.new_process_group = true;
  Child c = spawn(o);
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{c.stdout_fd, POLLIN, 0}, {c.stderr_fd, POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(-c.pid, SIGKILL);
      break;
    }
    int rc = poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (rc < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, n);
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  decode_wait_status(status, r.exit_code, r.signal);
  return r;
}

}  // namespace smplocal
