#pragma once
// Staging: builds a job's directory — one /opt/ml tree per emulated host with the config files,
// the code, the channels and the agent's instructions (mounts, environment overlay).

#include <functional>
#include <string>
#include <vector>

#include "emulator/launch/plan.h"
#include "emulator/spec/job.h"
#include "emulator/stage/job_dir.h"

namespace smplocal {

using LogFn = std::function<void(const std::string&)>;

struct StageReport {
  size_t files_linked = 0;
  size_t files_copied = 0;
  size_t mounts = 0;
  double seconds = 0;
};

// Writes the host trees under `dir` (hosts/ must not exist yet). On error the host trees are removed
// again and the Error propagates.
class S3Session;

// `s3` may be null when the job does not use S3.
StageReport stage_job(const TrainingJob& job, const JobPlan& plan, const JobDir& dir,
                      NamespaceMode namespaces, const std::string& gethostname_preload, const LogFn& log,
                      S3Session* s3);

// The directory of a host's tree that holds its checkpoints (CheckpointConfig.LocalPath).
std::filesystem::path host_checkpoint_dir(const TrainingJob& job, const JobDir& dir, const std::string& host);

// The environment overlay the agent applies for a host (no secrets: the job's Environment
// travels in the process environment, never in files).
Json agent_config(const TrainingJob& job, const JobPlan& plan, const JobDir& dir, int host_index,
                  NamespaceMode namespaces, const std::vector<struct Mount>& mounts,
                  const std::string& gethostname_preload);

// Copies the user's code (a directory, a single file or a .tar.gz, extracted safely) into `code_dir`.
void stage_code(const std::string& code_source, const std::string& entry_point,
                const std::filesystem::path& code_dir);

}  // namespace smplocal
