#pragma once
// MpirunCommand: the training toolkit's MasterRunner._create_command (contract §4.2) — the
// exact mpirun argv SageMaker runs on the master host — plus smp-local's host-agent flag.

#include <string>
#include <vector>

#include "emulator/common/error.h"

namespace smplocal {

struct MpirunInput {
  std::string mpirun = "mpirun";
  std::vector<std::string> hosts;      // distribution hosts, in order
  int processes_per_host = 1;
  int num_processes = 0;               // sagemaker_mpi_num_processes, 0 = ppn × hosts
  std::string network_interface = "eth0";
  std::string custom_mpi_options;      // sagemaker_mpi_custom_mpi_options
  bool instance_efa_nccl = false;      // target type in TK's SM_EFA_NCCL_INSTANCES
  bool instance_efa_rdma = false;      // in SM_EFA_RDMA_INSTANCES
  bool local_efa = false;              // this machine has an EFA device
  std::string gethostname_preload;     // TK's LD_PRELOAD library (smp-local's shim)
  std::vector<std::string> aws_credential_names;  // AWS_* credential variables that are set
  bool forward_ld_library_path = true;
  std::vector<std::string> exported_env_names;     // every SM_* and PYTHONPATH, emission order
  bool modelparallel = false;          // SM_HP_MP_PARAMETERS non-empty and not "{}"
  std::string dlc_torch_version;       // SM_DLC_TORCH_VERSION
  std::vector<std::string> entry_argv; // the user program
  // smp-local additions: one Open MPI node per emulated host via the host agent.
  std::string host_agent;              // --mca plm_rsh_agent <path>; empty = none
  bool tcp_only_btl = false;           // without UTS namespaces vader cannot tell hosts apart
};

struct MpirunCommand {
  std::vector<std::string> argv;
  std::vector<std::string> notes;      // decisions worth a log line (EFA flags dropped, ...)
  Problems problems;                   // e.g. an MCA parameter listed twice
};

MpirunCommand build_mpirun_command(const MpirunInput& in);

// Python's str.split(): whitespace-separated tokens.
std::vector<std::string> split_whitespace(const std::string& s);

}  // namespace smplocal
