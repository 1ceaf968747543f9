#pragma once
// ContainerEnv: what one emulated host's container sees — the /opt/ml/input/config files and
// the environment the SageMaker training toolkit (TK) and the PyTorch DLC compute from them
// (contract §1–2: TK environment.py `Environment.to_env_vars`, mapping.py, PT training.py).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "emulator/common/process.h"
#include "emulator/spec/job.h"

namespace smplocal {

// Facts about one emulated host that TK would read from the machine.
struct HostFacts {
  int num_cpus = 1;                   // multiprocessing.cpu_count()
  int num_gpus = 0;                   // GPUs visible to this host
  std::string cuda_visible_devices;   // this host's GPU slice ("" = none)
  std::string network_interface = "eth0";
  std::string python_path_tail;       // the local python's sys.path joined by ':' (PYTHONPATH after /opt/ml/code)
};

// Paths inside the container; `root` is "/opt/ml" or, without namespaces, the staged tree.
struct OptMlPaths {
  std::string root = "/opt/ml";
  std::string input() const { return root + "/input"; }
  std::string config() const { return root + "/input/config"; }
  std::string data() const { return root + "/input/data"; }
  std::string model() const { return root + "/model"; }
  std::string output() const { return root + "/output"; }
  std::string output_data() const { return root + "/output/data"; }
  std::string intermediate() const { return root + "/output/intermediate"; }
  std::string code() const { return root + "/code"; }
};

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct ContainerEnv {
  std::string host;                   // "algo-2"
  Json hyperparameters_file;          // hyperparameters.json
  Json resource_config;               // resourceconfig.json
  Json input_data_config;             // inputdataconfig.json
  std::optional<Json> checkpoint_config;  // checkpointconfig.json when CheckpointConfig is set
  Json training_env;                  // SM_TRAINING_ENV as an object
  EnvList sm_env;                     // TK's to_env_vars in emission order, then PYTHONPATH
  EnvList platform_env;               // set outside TK: TRAINING_JOB_NAME, image ENV, job Environment
  EnvList toolkit_env;                // TK/PT side effects: CURRENT_HOST, MASTER_ADDR, NCCL_*, ...
  std::vector<std::string> user_args; // to_cmd_args(user hyperparameters)
  std::string master_host;
  bool is_master = false;

  // Everything this container's processes get on top of the inherited environment.
  EnvList all() const;
};

// Host names "algo-1" ... "algo-N", sorted as SageMaker sorts them (lexicographically).
std::vector<std::string> host_names(int count);

// Hyperparameters split the way TK splits them.
bool is_sagemaker_hyperparameter(const std::string& key);

ContainerEnv container_env(const TrainingJob& job, int host_index, const HostFacts& facts,
                           const OptMlPaths& paths = {});

}  // namespace smplocal
