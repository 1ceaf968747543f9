#pragma once
// Distribution: the SageMaker Python SDK's translation of an Estimator's `distribution` dict
// into hyperparameters (PyTorch estimator, SDK v2.257.6) and the SDK's checks on it.

#include <filesystem>
#include <string>

#include "emulator/common/error.h"
#include "libsmp/core/json.h"

namespace smplocal {

using smp::core::Json;

struct DistributionInput {
  Json distribution;                 // the Estimator's `distribution` (object or null)
  std::string instance_type;
  std::string image_uri;             // empty unless the spec gave image_uri
  std::string framework_version;
  std::string py_version;
  std::string entry_point;
  std::filesystem::path spec_dir;    // mp parameters may be a path to a JSON file
};

// Returns the extra hyperparameters (decoded values, in the SDK's order) and adds every SDK
// error the distribution would raise to `problems`.
Json distribution_hyperparameters(const DistributionInput& in, Problems& problems);

}  // namespace smplocal
