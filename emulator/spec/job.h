#pragma once
// TrainingJob: the normalized job, shaped like a CreateTrainingJob request, that both spec
// formats (Estimator kwargs and CreateTrainingJob JSON) become.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libsmp/core/json.h"

namespace smplocal {

using smp::core::Json;

// One input channel (CreateTrainingJob `Channel`).
struct ChannelSpec {
  std::string name;
  std::string uri;                          // "s3://bucket/prefix" or an absolute local path
  std::string s3_data_type = "S3Prefix";    // S3Prefix | ManifestFile
  std::string distribution = "FullyReplicated";  // FullyReplicated | ShardedByS3Key
  std::string input_mode;                   // File | FastFile | Pipe; empty = the job's mode
  std::optional<std::string> content_type;
  std::string compression = "None";         // None | Gzip
  std::string record_wrapper = "None";      // None | RecordIO

  bool is_s3() const { return uri.rfind("s3://", 0) == 0; }
};

// CheckpointConfig.
struct CheckpointSpec {
  std::string uri;                             // s3://... or an absolute local directory
  std::string local_path = "/opt/ml/checkpoints";
  bool is_s3() const { return uri.rfind("s3://", 0) == 0; }
};

enum class SpecFormat { kEstimator, kCreateTrainingJob };

struct TrainingJob {
  SpecFormat format = SpecFormat::kEstimator;
  std::string name;
  Json hyperparameters = Json::object();  // key -> string, exactly as hyperparameters.json
  std::string image;                      // AlgorithmSpecification.TrainingImage
  std::string input_mode = "File";        // AlgorithmSpecification.TrainingInputMode
  std::string instance_type;
  int instance_count = 1;
  int volume_size_gb = 30;
  std::vector<ChannelSpec> channels;
  std::string output_path;                // OutputDataConfig.S3OutputPath (s3:// or local dir)
  std::optional<CheckpointSpec> checkpoint;
  int max_runtime_s = 24 * 60 * 60;       // StoppingCondition.MaxRuntimeInSeconds
  Json environment = Json::object();      // Environment (string -> string)
  std::string role_arn;
  std::string region;
  std::string framework_version;          // the DLC's PyTorch version, when known

  // Where the user's code comes from on this machine: a local directory or file, or an
  // s3://.../sourcedir.tar.gz; and the program inside it (`sagemaker_program`).
  std::string code_source;
  std::string entry_point;
  // When the code is local and the output is S3, the SDK uploads it here first.
  std::string code_upload_uri;

  // Decoded value of a hyperparameter (json.loads, else the raw string), or null if absent.
  Json hyperparameter(const std::string& key) const;
  // The hyperparameters as the training toolkit decodes them.
  Json decoded_hyperparameters() const;
  // The CreateTrainingJob request this job corresponds to (secrets in Environment redacted).
  Json create_training_job_request() const;
};

// Environment keys whose values are never written anywhere (files, logs, records).
bool is_secret_env_name(const std::string& name);

}  // namespace smplocal
