#pragma once
// Config: SMP v1 `mp_parameters` with the library's defaults, and the two validations that
// read them — the SageMaker SDK's (`fw_utils.validate_mp_config`, exact messages) and the
// library's own (what libsmp can run, and how it fits a world size).

#include <string>

#include "libsmp/core/json.h"
#include "libsmp/core/problem.h"

namespace smp::core {

enum class PipelineSchedule { kSimple, kInterleaved, kOnlyForward };

struct Config {
  int pipeline_parallel_degree = 1;  // "partitions" / "pipeline_parallel_degree"
  int tensor_parallel_degree = 1;
  int microbatches = 1;
  PipelineSchedule pipeline = PipelineSchedule::kInterleaved;
  std::string optimize = "memory";
  std::string placement_strategy = "cluster";  // cluster, spread or a permutation of "DPT"
  bool auto_partition = true;
  int default_partition = 0;
  double memory_weight = 0.8;  // 0.2 when optimize == "speed"
  bool ddp = false;
  int active_microbatches = 3;  // pipeline_parallel_degree + 2
  bool deterministic_server = false;
  Json raw = Json::object();  // the parameters as given

  // Placement letters, slowest-varying first: "DPT" for cluster, "TPD" for spread.
  std::string placement_letters() const;
};

std::string to_string(PipelineSchedule schedule);

// The SageMaker Python SDK's validate_mp_config (v2.257.6) on the raw parameters dict: every
// problem it would raise, with its message text. (The SDK stops at the first; we list all.)
Problems sdk_validate_mp_parameters(const Json& params, const std::string& field);

// Parses mp_parameters into a Config with the library's defaults. Problems are the library's
// own: missing or inconsistent pipeline degree, wrong types, values libsmp cannot honour.
// `field` prefixes every Problem::field.
Config parse_config(const Json& params, const std::string& field, Problems& problems);

// How a Config fits `world_size` ranks: pp × tp must divide it, tp needs ddp, and so on.
Problems check_world(const Config& config, int world_size, const std::string& field);

// Settings SMP v1 accepts that libsmp does not implement (tensor parallelism, fp16, ...), as
// warnings; smp::init turns them into errors.
Problems libsmp_unsupported(const Config& config, const std::string& field);

}  // namespace smp::core
