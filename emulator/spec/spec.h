#pragma once
// Spec loading: reads a job spec file (Estimator kwargs or a CreateTrainingJob request), applies
// command-line overrides, and produces the normalized TrainingJob plus every problem the SDK
// (for Estimator specs) would raise, with its own message text.

#include <filesystem>
#include <string>
#include <vector>

#include "emulator/common/clock.h"
#include "emulator/common/error.h"
#include "emulator/spec/job.h"

namespace smplocal {

// Values the caller decides (environment, CLI flags, the clock).
struct SpecContext {
  std::filesystem::path spec_dir;          // relative paths in the spec are relative to it
  std::string default_region = "us-east-1";
  std::string default_output_path;         // used when the spec has no output_path
  SystemTime now;
};

// Command-line overrides of common fields.
struct SpecOverrides {
  std::optional<int> instance_count;
  std::optional<std::string> instance_type;
  std::optional<int> max_run;
  std::optional<std::string> job_name;
  std::optional<std::string> source_dir;  // Estimator specs: replaces source_dir
  std::vector<std::pair<std::string, std::string>> hyperparameters;  // key=value (value as JSON if it parses)
  std::vector<std::pair<std::string, std::string>> channels;         // name=path-or-uri
};

enum class DetectedFormat { kEstimator, kCreateTrainingJob };
// CreateTrainingJob requests have PascalCase top-level keys (AlgorithmSpecification, ...).
DetectedFormat detect_format(const Json& spec);

// Parses Estimator-style kwargs. SDK validation failures are added to `problems` (the job is
// still returned as far as it could be built).
TrainingJob parse_estimator(Json spec, const SpecOverrides& overrides, const SpecContext& ctx,
                            Problems& problems);
// Parses a CreateTrainingJob request (what `aws sagemaker create-training-job
// --cli-input-json` takes).
TrainingJob parse_create_training_job(Json request, const SpecOverrides& overrides,
                                      const SpecContext& ctx, Problems& problems);

// Reads and parses a spec file of either format. Unreadable or non-JSON files throw Error.
TrainingJob load_spec(const std::filesystem::path& file, const SpecOverrides& overrides,
                      const SpecContext& ctx, Problems& problems);

// The SDK's name_from_base: base[:63 - len(ts) - 1] + "-" + ts.
std::string name_from_base(const std::string& base, SystemTime now);
// TrainingJobName pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
bool valid_job_name(const std::string& name);

}  // namespace smplocal
