#include "emulator/agent/namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "emulator/common/error.h"

namespace smplocal {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& step) {
  throw Error("host agent: " + step + ": " + strerror(errno));
}

void write_proc(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("open " + path);
  if (write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    close(fd);
    fail("write " + path);
  }
  close(fd);
}

void bind_mount(const std::string& source, const std::string& target, bool readonly) {
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    fail("bind " + source + " on " + target);
  if (readonly &&
      mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0)
    fail("remount " + target + " read-only");
}

// /opt/ml must exist to be a mount point. As root we create it; without the right to, a tmpfs on
// /opt (inside our namespace only) gets /opt/ml plus bind mounts of everything /opt held.
void ensure_opt_ml() {
  std::error_code ec;
  if (fs::is_directory("/opt/ml", ec)) return;
  if (fs::create_directories("/opt/ml", ec) || fs::is_directory("/opt/ml", ec)) return;
  int old_opt = open("/opt", O_PATH | O_DIRECTORY | O_CLOEXEC);
  std::vector<std::string> children;
  if (old_opt >= 0)
    for (const auto& e : fs::directory_iterator("/opt", ec)) children.push_back(e.path().filename());
  if (mount("tmpfs", "/opt", "tmpfs", 0, "mode=0755") != 0) fail("mount tmpfs on /opt");
  fs::create_directory("/opt/ml");
  for (const auto& name : children) {
    std::string src = "/proc/self/fd/" + std::to_string(old_opt) + "/" + name;
    std::string dst = "/opt/" + name;
    struct stat st{};
    if (stat(src.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) fs::create_directory(dst, ec);
    else std::ofstream(dst).close();
    mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr);
  }
  if (old_opt >= 0) close(old_opt);
}

}  // namespace

HostSetup host_setup_from_json(const smp::core::Json& j) {
  HostSetup s;
  s.host = j.at("host").get<std::string>();
  s.mode = j.at("namespaces").get<std::string>();
  s.opt_ml = j.at("opt_ml").get<std::string>();
  s.etc_hosts = j.at("etc_hosts").get<std::string>();
  for (const auto& m : j.at("mounts"))
    s.mounts.push_back({m.at("source").get<std::string>(), m.at("target").get<std::string>(),
                        m.at("readonly").get<bool>()});
  return s;
}

void enter_host(const HostSetup& s) {
  if (s.mode == "none") return;
  // Already privileged in our (possibly user) namespace, e.g. under an mpirun started by an agent.
  if (unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) {
    if (s.mode != "userns") fail("unshare(CLONE_NEWNS|CLONE_NEWUTS)");
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS) != 0) fail("unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWUTS)");
    write_proc("/proc/self/setgroups", "deny");
    write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("make / private");
  ensure_opt_ml();
  bind_mount(s.opt_ml, "/opt/ml", false);
  for (const auto& m : s.mounts) {
    std::error_code ec;
    fs::create_directories(m.target, ec);
    bind_mount(m.source, m.target, m.readonly);
  }
  if (!s.etc_hosts.empty()) bind_mount(s.etc_hosts, "/etc/hosts", true);
  if (sethostname(s.host.c_str(), s.host.size()) != 0) fail("sethostname " + s.host);
}

}  // namespace smplocal
