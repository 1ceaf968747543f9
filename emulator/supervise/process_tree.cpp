#include "emulator/supervise/process_tree.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace smplocal {

namespace {

// The pids now in /proc.
std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = strtol(e->d_name, &end, 10);
    if (end && !*end && pid > 0) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

}  // namespace

std::vector<ProcInfo> list_processes() {
  std::vector<ProcInfo> out;
  for (pid_t pid : all_pids()) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content;
    if (!std::getline(stat, content)) continue;
    // pid (comm) state ppid ... ; comm may contain spaces and parentheses: use the last ')'.
    size_t open = content.find('('), close = content.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    ProcInfo p;
    p.pid = pid;
    p.comm = content.substr(open + 1, close - open - 1);
    std::istringstream rest(content.substr(close + 2));
    std::string state;
    rest >> state >> p.ppid;
    out.push_back(p);
  }
  return out;
}

std::vector<ProcInfo> descendants(pid_t root) {
  auto all = list_processes();
  std::multimap<pid_t, const ProcInfo*> children;
  for (const auto& p : all) children.emplace(p.ppid, &p);
  std::vector<ProcInfo> out;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    auto range = children.equal_range(parent);
    for (auto it = range.first; it != range.second; ++it) {
      out.push_back(*it->second);
      frontier.push_back(it->second->pid);
    }
  }
  return out;
}

bool is_launcher(const ProcInfo& p) {
  return p.comm == "mpirun" || p.comm == "orterun" || p.comm == "orted" || p.comm.rfind("smp-local", 0) == 0;
}

int signal_descendants(pid_t root, int sig, bool ranks_only) {
  int n = 0;
  for (const auto& p : descendants(root)) {
    if (ranks_only && is_launcher(p)) continue;
    if (kill(p.pid, sig) == 0) ++n;
  }
  return n;
}

std::vector<pid_t> processes_with_environment(const std::string& entry) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    std::string var;
    while (std::getline(in, var, '\0')) {
      if (var == entry) {
        out.push_back(pid);
        break;
      }
    }
  }
  return out;
}

void kill_all_descendants(pid_t root, int timeout_ms) {
  // A subreaper without children has no descendants at all (orphans would have become its
  // children): skip scanning /proc.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (root == getpid() && waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto procs = descendants(root);
    // Zombies of ours need reaping, not killing.
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (procs.empty()) return;
    for (const auto& p : procs) kill(p.pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace smplocal
