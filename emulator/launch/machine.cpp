#include "emulator/launch/machine.h"

#include <dlfcn.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "emulator/common/process.h"

namespace smplocal {
namespace {

// The subset of NVML we call, resolved at run time so there is no link dependency.
struct Nvml {
  void* lib = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*count)(unsigned*) = nullptr;
  int (*handle)(unsigned, void**) = nullptr;
  int (*name)(void*, char*, unsigned) = nullptr;
  int (*memory)(void*, unsigned long long[3]) = nullptr;  // nvmlMemory_t {total, free, used}
};

std::vector<GpuInfo> gpus_from_nvml(bool& ok) {
  ok = false;
  Nvml n;
  n.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!n.lib) return {};
  n.init = reinterpret_cast<int (*)()>(dlsym(n.lib, "nvmlInit_v2"));
  n.shutdown = reinterpret_cast<int (*)()>(dlsym(n.lib, "nvmlShutdown"));
  n.count = reinterpret_cast<int (*)(unsigned*)>(dlsym(n.lib, "nvmlDeviceGetCount_v2"));
  n.handle = reinterpret_cast<int (*)(unsigned, void**)>(dlsym(n.lib, "nvmlDeviceGetHandleByIndex_v2"));
  n.name = reinterpret_cast<int (*)(void*, char*, unsigned)>(dlsym(n.lib, "nvmlDeviceGetName"));
  n.memory = reinterpret_cast<int (*)(void*, unsigned long long[3])>(dlsym(n.lib, "nvmlDeviceGetMemoryInfo"));
  std::vector<GpuInfo> out;
  if (n.init && n.count && n.handle && n.init() == 0) {
    unsigned count = 0;
    if (n.count(&count) == 0) {
      ok = true;
      for (unsigned i = 0; i < count; ++i) {
        GpuInfo g;
        g.index = static_cast<int>(i);
        void* h = nullptr;
        if (n.handle(i, &h) == 0) {
          char buf[96] = {0};
          if (n.name && n.name(h, buf, sizeof buf) == 0) g.name = buf;
          unsigned long long mem[3] = {0, 0, 0};
          if (n.memory && n.memory(h, mem) == 0) g.memory_mib = static_cast<long long>(mem[0] >> 20);
        }
        out.push_back(g);
      }
    }
    if (n.shutdown) n.shutdown();
  }
  dlclose(n.lib);
  return out;
}

std::vector<GpuInfo> gpus_from_nvidia_smi(bool& ok) {
  ok = false;
  if (which("nvidia-smi").empty()) return {};
  RunResult r = run_capture({"nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"},
                            std::chrono::seconds(20));
  if (r.exit_code != 0) return {};
  ok = true;
  std::vector<GpuInfo> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string idx, name, mem;
    if (!std::getline(fields, idx, ',') || !std::getline(fields, name, ',') || !std::getline(fields, mem, ',')) continue;
    GpuInfo g;
    g.index = std::atoi(idx.c_str());
    g.name = name.substr(name.find_first_not_of(' '));
    g.memory_mib = std::atoll(mem.c_str());
    out.push_back(g);
  }
  return out;
}

bool has_efa_device() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/infiniband", ec)) {
    auto driver = std::filesystem::read_symlink(e.path() / "device/driver", ec);
    if (!ec && driver.filename() == "efa") return true;
  }
  return false;
}

std::string pick_python(const std::string& requested) {
  if (!requested.empty()) return requested;
  if (const char* env = getenv("SMP_LOCAL_PYTHON"); env && *env) return env;
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

bool try_unshare(int flags) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) _exit(unshare(flags) == 0 ? 0 : 1);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::string to_string(NamespaceMode mode) {
  switch (mode) {
    case NamespaceMode::kRoot: return "mount+UTS namespaces (root)";
    case NamespaceMode::kUserNs: return "user+mount+UTS namespaces (unprivileged)";
    case NamespaceMode::kNone: return "none (fallback: staged paths + gethostname preload)";
  }
  return "none";
}

std::vector<GpuInfo> discover_gpus(std::string& source) {
  bool ok = false;
  auto gpus = gpus_from_nvml(ok);
  if (ok) {
    source = "nvml";
    return gpus;
  }
  gpus = gpus_from_nvidia_smi(ok);
  source = ok ? "nvidia-smi" : "none";
  return gpus;
}

NamespaceMode probe_namespaces() {
  if (getenv("SMP_LOCAL_NO_NAMESPACES")) return NamespaceMode::kNone;
  if (try_unshare(CLONE_NEWNS | CLONE_NEWUTS)) return NamespaceMode::kRoot;
  if (try_unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS)) return NamespaceMode::kUserNs;
  return NamespaceMode::kNone;
}

Machine probe_machine(const ProbeOptions& options) {
  Machine m;
  m.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  m.gpus = discover_gpus(m.gpu_source);
  m.efa = has_efa_device();
  m.mpirun = which("mpirun");
  m.network_interface = std::filesystem::exists("/sys/class/net/eth0") ? "eth0" : "lo";
  m.namespaces = probe_namespaces();
  m.python = pick_python(options.python);
  if (options.need_python) {
    std::string py = which(m.python);
    m.python_found = !py.empty();
    if (m.python_found) {
      m.python = py;
      RunResult r = run_capture(
          {py, "-c", "import sys\nprint(':'.join(p for p in sys.path if p))\ntry:\n import mpi4py\n print('mpi4py')\nexcept ImportError:\n print('')"},
          std::chrono::seconds(30));
      if (r.exit_code == 0) {
        std::istringstream lines(r.out);
        std::getline(lines, m.python_sys_path);
        std::string mpi;
        std::getline(lines, mpi);
        m.mpi4py = mpi == "mpi4py";
      }
    }
  }
  return m;
}

}  // namespace smplocal
