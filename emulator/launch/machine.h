#pragma once
// Machine: facts about this computer that a job's plan depends on (cores, GPUs, EFA, Python,
// mpirun, namespaces), gathered once; tests build Machine values directly.

#include <string>
#include <vector>

namespace smplocal {

struct GpuInfo {
  int index = 0;
  std::string name;
  long long memory_mib = 0;
};

enum class NamespaceMode {
  kRoot,          // unshare(CLONE_NEWNS|CLONE_NEWUTS) as root
  kUserNs,        // unprivileged, through a user namespace mapping our uid to 0
  kNone,          // refused: fall back to staged paths + gethostname preload
};

struct Machine {
  int cores = 1;
  std::vector<GpuInfo> gpus;
  std::string gpu_source;              // "nvml", "nvidia-smi" or "none"
  bool efa = false;
  std::string python;                  // interpreter for .py entry points
  bool python_found = false;
  bool mpi4py = false;
  std::string python_sys_path;         // ':'-joined sys.path of that interpreter (no '')
  std::string mpirun;                  // path, empty when not installed
  std::string network_interface = "lo";
  NamespaceMode namespaces = NamespaceMode::kNone;
};

struct ProbeOptions {
  std::string python;                  // --python; empty = SMP_LOCAL_PYTHON, /usr/bin/python3, PATH
  bool need_python = false;            // probe the interpreter (only for .py entry points)
};

Machine probe_machine(const ProbeOptions& options);

// GPUs through NVML (dlopen of the driver's libnvidia-ml.so.1), else `nvidia-smi`.
std::vector<GpuInfo> discover_gpus(std::string& source);

// Whether this process may create mount + UTS namespaces (tries it in a child process).
NamespaceMode probe_namespaces();

std::string to_string(NamespaceMode mode);

}  // namespace smplocal
