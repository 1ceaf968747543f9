#pragma once
// InstanceCatalog: hardware facts and indicative prices of SageMaker training instance types,
// from ../shared/reference/sagemaker-contract.md §7 (sources listed there).

#include <optional>
#include <string>
#include <vector>

namespace smplocal {

struct InstanceType {
  std::string name;          // "ml.p3.16xlarge"
  int gpus = 0;
  std::string gpu_model;     // "V100", empty for CPU types
  int gpu_memory_gib = 0;    // per GPU
  int vcpus = 0;
  int memory_gib = 0;
  bool efa = false;          // EC2 lists EFA for the type
  bool tk_efa_nccl = false;  // in the training toolkit's SM_EFA_NCCL_INSTANCES (changes mpirun flags)
  bool tk_efa_rdma = false;  // in SM_EFA_RDMA_INSTANCES
  bool smp_v1_supported = false;  // in SMP v1's documented instance list
  std::optional<double> usd_per_hour;  // indicative SageMaker on-demand price, us-east-1
};

// Where the prices come from, printed next to every cost estimate.
extern const char* const kPriceSource;

const InstanceType* find_instance_type(const std::string& name);
const std::vector<InstanceType>& all_instance_types();
// "ml.p3.16xlarge, ml.p4d.24xlarge, ..." for error messages.
std::string known_instance_type_names(bool gpu_only = false);

}  // namespace smplocal
