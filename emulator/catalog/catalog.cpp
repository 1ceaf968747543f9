#include "emulator/catalog/catalog.h"

namespace smplocal {

const char* const kPriceSource =
    "indicative SageMaker on-demand prices for us-east-1 from third-party tables, compiled "
    "2026-11 (no authoritative AWS source was available; see README)";

namespace {

InstanceType gpu(std::string name, int gpus, std::string model, int mem, int vcpus, int host_mem,
                 bool efa, bool nccl, bool rdma, bool smp, std::optional<double> price) {
  return InstanceType{std::move(name), gpus, std::move(model), mem, vcpus, host_mem, efa, nccl,
                      rdma, smp, price};
}
InstanceType cpu(std::string name, int vcpus, int host_mem) {
  return InstanceType{std::move(name), 0, "", 0, vcpus, host_mem, false, false, false, false, {}};
}

std::vector<InstanceType> build() {
  return {
      gpu("ml.p3.2xlarge", 1, "V100", 16, 8, 61, false, false, false, false, 3.825),
      gpu("ml.p3.8xlarge", 4, "V100", 16, 32, 244, false, false, false, false, 14.688),
      gpu("ml.p3.16xlarge", 8, "V100", 16, 64, 488, false, false, false, true, 28.152),
      gpu("ml.p3dn.24xlarge", 8, "V100", 32, 96, 768, true, true, false, true, 35.86),
      gpu("ml.p4d.24xlarge", 8, "A100", 40, 96, 1152, true, true, true, true, 37.688),
      gpu("ml.p4de.24xlarge", 8, "A100 80GB", 80, 96, 1152, true, true, true, true, 40.966),
      gpu("ml.p5.48xlarge", 8, "H100", 80, 192, 2048, true, true, false, false, 98.32),
      gpu("ml.g4dn.xlarge", 1, "T4", 16, 4, 16, false, false, false, false, 0.736),
      gpu("ml.g4dn.2xlarge", 1, "T4", 16, 8, 32, false, false, false, false, {}),
      gpu("ml.g4dn.4xlarge", 1, "T4", 16, 16, 64, false, false, false, false, {}),
      gpu("ml.g4dn.8xlarge", 1, "T4", 16, 32, 128, true, true, false, false, {}),
      gpu("ml.g4dn.12xlarge", 4, "T4", 16, 48, 192, true, true, false, true, 4.89),
      gpu("ml.g4dn.16xlarge", 1, "T4", 16, 64, 256, true, false, false, false, {}),
      gpu("ml.g5.xlarge", 1, "A10G", 24, 4, 16, false, false, false, false, 1.006),
      gpu("ml.g5.2xlarge", 1, "A10G", 24, 8, 32, false, false, false, false, {}),
      gpu("ml.g5.4xlarge", 1, "A10G", 24, 16, 64, false, false, false, false, {}),
      gpu("ml.g5.8xlarge", 1, "A10G", 24, 32, 128, true, false, false, false, {}),
      gpu("ml.g5.12xlarge", 4, "A10G", 24, 48, 192, true, false, false, false, 7.09),
      gpu("ml.g5.16xlarge", 1, "A10G", 24, 64, 256, true, false, false, false, {}),
      gpu("ml.g5.24xlarge", 4, "A10G", 24, 96, 384, true, false, false, false, {}),
      gpu("ml.g5.48xlarge", 8, "A10G", 24, 192, 768, true, true, false, false, 20.36),
      gpu("ml.g6e.xlarge", 1, "L40S", 48, 4, 32, false, false, false, false, {}),
      gpu("ml.g6e.2xlarge", 1, "L40S", 48, 8, 64, false, false, false, false, {}),
      gpu("ml.g6e.4xlarge", 1, "L40S", 48, 16, 128, false, false, false, false, {}),
      gpu("ml.g6e.8xlarge", 1, "L40S", 48, 32, 256, false, false, false, false, {}),
      gpu("ml.g6e.16xlarge", 1, "L40S", 48, 64, 512, false, false, false, false, {}),
      gpu("ml.g6e.12xlarge", 4, "L40S", 48, 48, 384, false, false, false, false, {}),
      gpu("ml.g6e.24xlarge", 4, "L40S", 48, 96, 768, true, false, false, false, {}),
      gpu("ml.g6e.48xlarge", 8, "L40S", 48, 192, 1536, true, false, false, false, {}),
      // CPU types (EC2 instance specifications); no price recorded.
      cpu("ml.m5.large", 2, 8), cpu("ml.m5.xlarge", 4, 16), cpu("ml.m5.2xlarge", 8, 32),
      cpu("ml.m5.4xlarge", 16, 64), cpu("ml.m5.12xlarge", 48, 192), cpu("ml.m5.24xlarge", 96, 384),
      cpu("ml.c5.xlarge", 4, 8), cpu("ml.c5.2xlarge", 8, 16), cpu("ml.c5.4xlarge", 16, 32),
      cpu("ml.c5.9xlarge", 36, 72), cpu("ml.c5.18xlarge", 72, 144),
  };
}

}  // namespace

const std::vector<InstanceType>& all_instance_types() {
  static const std::vector<InstanceType> types = build();
  return types;
}

const InstanceType* find_instance_type(const std::string& name) {
  for (const auto& t : all_instance_types())
    if (t.name == name) return &t;
  return nullptr;
}

std::string known_instance_type_names(bool gpu_only) {
  std::string out;
  for (const auto& t : all_instance_types()) {
    if (gpu_only && t.gpus == 0) continue;
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

}  // namespace smplocal
