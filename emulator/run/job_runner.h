#pragma once
// JobRunner: the job's life, step by step — spec, pre-flight, stage, launch, supervise, outputs
// (DESIGN.md). `prepare` is steps 1–2 (used by validate and plan); `run_job` does everything.

#include <filesystem>
#include <optional>
#include <string>

#include "emulator/launch/machine.h"
#include "emulator/launch/plan.h"
#include "emulator/run/console.h"
#include "emulator/spec/spec.h"

namespace smplocal {

class JobWatchdog;

struct RunRequest {
  std::filesystem::path spec_file;
  SpecOverrides overrides;
  std::filesystem::path jobs_root = "smp-local-jobs";
  bool force_cpu = false;
  std::optional<std::vector<int>> gpus;
  std::string python;
  int stop_grace_s = 120;
  bool host_local_sm_env = false;
  int s3_concurrency = 0;           // --s3-concurrency; 0 = the S3 client's default
  std::string s3_endpoint;          // --s3-endpoint; empty = AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS
  bool no_smp_package = false;      // --no-smp-package: the image brings its own smdistributed
};

struct Prepared {
  TrainingJob job;
  Machine machine;
  JobPlan plan;
  Problems problems;                // spec + pre-flight + plan
};

// Directory of the smp-local executable (the host agent and the preload library live there).
std::filesystem::path tools_dir();

// Where libsmp's Python package (smdistributed.modelparallel.torch) is: $SMP_LOCAL_SMP_PACKAGE_DIR,
// else <tools_dir>/../python (the build tree's layout); empty when it is not built.
std::filesystem::path smp_package_dir();

// Steps 1–2: spec, pre-flight, plan. Never writes anything.
Prepared prepare(const RunRequest& request);

// The whole job. Returns the exit code (exit_codes.h); the final record goes to `record_out`.
// With a watchdog, nothing of the job outlives this process however it ends.
int run_job(const RunRequest& request, Console& console, Json* record_out,
            JobWatchdog* watchdog = nullptr);

// Problems as JSON: [{"severity", "field", "message", "fix"}].
Json problems_json(const Problems& problems);

// The rank table and mpirun argv as text (for `smp-local plan`) and as JSON.
std::string plan_text(const Prepared& p);
Json plan_json(const Prepared& p);

}  // namespace smplocal
