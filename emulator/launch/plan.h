#pragma once
// JobPlan: how a TrainingJob runs on this machine — runner, hosts and their GPU slices, every
// rank's placement (with SMP coordinates), each container's environment and the mpirun argv —
// plus every problem found while planning. Pure: no processes are started.

#include <optional>
#include <string>
#include <vector>

#include "emulator/common/error.h"
#include "emulator/env/container_env.h"
#include "emulator/launch/machine.h"
#include "emulator/launch/mpirun_command.h"
#include "emulator/spec/job.h"
#include "libsmp/core/config.h"
#include "libsmp/core/topology.h"

namespace smplocal {

struct PlanOptions {
  bool force_cpu = false;                  // --cpu
  std::optional<std::vector<int>> gpus;    // --gpus 0,1,...
  std::string host_agent;                  // path of smp-local-host-agent
  std::string gethostname_preload;         // path of the gethostname shim
  bool host_local_sm_env = false;          // --host-local-sm-env: do not -x SM_* from the master
  std::string opt_ml_root_pattern;         // fallback only: "<jobdir>/hosts/{host}/opt/ml"
};

enum class Runner { kMpi, kProcess, kUnsupported };

struct HostPlan {
  std::string name;              // algo-K
  int index = 0;                 // K-1
  std::vector<int> gpu_ids;      // physical GPU indices given to this host
  HostFacts facts;
};

struct RankRow {
  int rank = 0;
  std::string host;
  int local_rank = 0;
  std::string gpu;               // physical GPU index, or "cpu"
  std::optional<smp::core::RankCoords> coords;
  std::vector<int> mp_group, dp_group;
};

struct JobPlan {
  Runner runner = Runner::kProcess;
  std::string runner_name;        // "mpi", "process", or the unsupported strategy
  bool use_gpus = false;
  int processes_per_host = 1;
  int world_size = 1;
  std::vector<HostPlan> hosts;
  std::vector<RankRow> ranks;
  std::optional<smp::core::Config> smp;  // when mp_parameters is set
  std::vector<ContainerEnv> containers;  // one per host
  std::vector<std::string> entry_argv;   // the user program (cwd = code dir)
  MpirunCommand mpirun;                  // runner == kMpi
  std::vector<std::string> notes;        // log lines about decisions
  Problems problems;
};

// Plans the job; `code_dir` is where the code will be (to look for setup.py), may be empty.
JobPlan make_plan(const TrainingJob& job, const Machine& machine, const PlanOptions& options);

// The processes-per-host TK uses: the hyperparameter, else the instance's GPU count, else 1.
int processes_per_host(const TrainingJob& job);

}  // namespace smplocal
