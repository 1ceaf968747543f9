// smp-local: run a SageMaker training job on this machine as SageMaker would run it.
//   smp-local run SPEC | validate SPEC | plan SPEC | describe JOB | list

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "emulator/common/text.h"
#include "emulator/outputs/record.h"
#include "emulator/run/exit_codes.h"
#include "emulator/run/job_runner.h"
#include "emulator/supervise/supervisor.h"
#include "emulator/supervise/watchdog.h"

namespace {

using namespace smplocal;
namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::string>> key_values(const std::vector<std::string>& items,
                                                            const std::string& flag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CLI::ValidationError(flag, "expected NAME=VALUE, got \"" + item + "\"");
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

std::vector<int> parse_gpus(const std::string& s) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos)
      throw CLI::ValidationError("--gpus", "expected comma-separated GPU indices, got \"" + s + "\"");
    out.push_back(std::stoi(item));
    start = end + 1;
  }
  return out;
}

struct Flags {
  std::string spec;
  std::string jobs_dir = "smp-local-jobs";
  bool json = false;
  bool cpu = false;
  std::string gpus;
  std::string python;
  int stop_grace = 120;
  int s3_concurrency = 0;
  int instance_count = 0;
  std::string instance_type;
  int max_run = 0;
  std::string job_name;
  std::string source_dir;
  std::vector<std::string> hyperparameters;
  std::vector<std::string> channels;
  bool host_local_sm_env = false;
  bool no_smp_package = false;
  std::string s3_endpoint;
};

void add_spec_flags(CLI::App* cmd, Flags& f) {
  cmd->add_option("SPEC", f.spec, "Estimator kwargs JSON or CreateTrainingJob request JSON")->required()->check(CLI::ExistingFile);
  cmd->add_option("--jobs-dir", f.jobs_dir, "where job directories go (default ./smp-local-jobs)");
  cmd->add_flag("--json", f.json, "machine-readable output on stdout");
  cmd->add_flag("--cpu", f.cpu, "run every rank without a GPU (default when this machine has none)");
  cmd->add_option("--gpus", f.gpus, "GPU indices to use, e.g. 0,1,2,3");
  cmd->add_option("--python", f.python, "Python interpreter for .py entry points (default: $SMP_LOCAL_PYTHON, /usr/bin/python3)");
  cmd->add_option("--instance-count", f.instance_count, "override instance_count")->check(CLI::Range(1, 64));
  cmd->add_option("--instance-type", f.instance_type, "override instance_type");
  cmd->add_option("--max-run", f.max_run, "override max_run (seconds)")->check(CLI::PositiveNumber);
  cmd->add_option("--job-name", f.job_name, "use this job name instead of base_job_name + timestamp");
  cmd->add_option("--source-dir", f.source_dir, "override source_dir (a directory, .tar.gz or s3:// URI)");
  cmd->add_option("--hyperparameter,-H", f.hyperparameters, "NAME=VALUE (VALUE parsed as JSON when it is JSON)");
  cmd->add_option("--channel,-C", f.channels, "NAME=PATH_OR_S3_URI, replaces or adds an input channel");
  cmd->add_flag("--host-local-sm-env", f.host_local_sm_env,
                "give each host's ranks that host's SM_* values (SageMaker exports the master's; toolkit issue #158)");
  cmd->add_flag("--no-smp-package", f.no_smp_package,
                "do not put libsmp's smdistributed package on the ranks' PYTHONPATH (the image brings its own)");
  cmd->add_option("--s3-endpoint", f.s3_endpoint, "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)");
}

RunRequest request_from(const Flags& f) {
  RunRequest r;
  r.spec_file = f.spec;
  r.jobs_root = f.jobs_dir;
  r.force_cpu = f.cpu;
  if (!f.gpus.empty()) r.gpus = parse_gpus(f.gpus);
  r.python = f.python;
  r.stop_grace_s = f.stop_grace;
  r.s3_concurrency = f.s3_concurrency;
  r.host_local_sm_env = f.host_local_sm_env;
  r.s3_endpoint = f.s3_endpoint;
  r.no_smp_package = f.no_smp_package;
  if (f.instance_count) r.overrides.instance_count = f.instance_count;
  if (!f.instance_type.empty()) r.overrides.instance_type = f.instance_type;
  if (f.max_run) r.overrides.max_run = f.max_run;
  if (!f.job_name.empty()) r.overrides.job_name = f.job_name;
  if (!f.source_dir.empty())
    r.overrides.source_dir = f.source_dir.rfind("s3://", 0) == 0 ? f.source_dir : fs::absolute(f.source_dir).string();
  r.overrides.hyperparameters = key_values(f.hyperparameters, "--hyperparameter");
  // Paths on the command line are relative to the working directory (those in the spec, to the spec).
  for (auto& [name, where] : key_values(f.channels, "--channel"))
    r.overrides.channels.emplace_back(name, where.rfind("s3://", 0) == 0 ? where : fs::absolute(where).string());
  return r;
}

int cmd_validate_or_plan(const Flags& f, bool plan) {
  Prepared p = prepare(request_from(f));
  bool errors = smp::core::has_errors(p.problems);
  if (f.json) {
    Json out = {{"valid", !errors}, {"problems", problems_json(p.problems)}};
    if (plan && !errors) out["plan"] = plan_json(p);
    if (!plan) out["CreateTrainingJob"] = p.job.create_training_job_request();
    std::cout << json_text(out) << "\n";
  } else {
    Console con(false);
    con.problems(p.problems);
    if (plan && !errors) std::cout << plan_text(p);
    if (!plan && !errors) std::cout << "valid: " << p.job.name << " (" << p.job.instance_count << " × " << p.job.instance_type << ")\n";
  }
  return errors ? kExitInvalid : kExitCompleted;
}

int cmd_describe(const std::string& job, const std::string& jobs_dir, bool json) {
  fs::path file = fs::path(jobs_dir) / job / "record.json";
  if (!fs::exists(file)) file = fs::path(job) / "record.json";  // a job directory path works too
  if (!fs::exists(file)) {
    std::fprintf(stderr, "error: no job \"%s\" under %s\n", job.c_str(), jobs_dir.c_str());
    return kExitInvalid;
  }
  Json record = JobRecord::load(file);
  if (json) {
    std::cout << json_text(record) << "\n";
    return kExitCompleted;
  }
  std::cout << record.value("TrainingJobName", "") << ": " << record.value("TrainingJobStatus", "") << " ("
            << record.value("SecondaryStatus", "") << ")\n";
  for (const auto& t : record["SecondaryStatusTransitions"])
    std::cout << "  " << t.value("StartTime", "") << "  " << t.value("Status", "") << " - " << t.value("StatusMessage", "") << "\n";
  if (record.contains("FailureReason")) std::cout << "FailureReason: " << record["FailureReason"].get<std::string>() << "\n";
  if (record.contains("ModelArtifacts")) std::cout << "ModelArtifacts: " << record["ModelArtifacts"]["S3ModelArtifacts"].get<std::string>() << "\n";
  return kExitCompleted;
}

int cmd_list(const std::string& jobs_dir, bool json) {
  Json jobs = Json::array();
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(jobs_dir, ec))
    if (fs::exists(e.path() / "record.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    try {
      Json r = JobRecord::load(d / "record.json");
      jobs.push_back({{"TrainingJobName", r.value("TrainingJobName", "")},
                      {"TrainingJobStatus", r.value("TrainingJobStatus", "")},
                      {"SecondaryStatus", r.value("SecondaryStatus", "")},
                      {"CreationTime", r.value("CreationTime", "")}});
    } catch (const std::exception&) {
    }
  }
  if (json) {
    std::cout << json_text(Json{{"TrainingJobSummaries", jobs}}) << "\n";
  } else {
    for (const auto& j : jobs)
      std::printf("%-64s %-10s %s\n", j["TrainingJobName"].get<std::string>().c_str(),
                  j["TrainingJobStatus"].get<std::string>().c_str(), j["CreationTime"].get<std::string>().c_str());
  }
  return kExitCompleted;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smp-local: run Amazon SageMaker training jobs (incl. model-parallel ones) on this machine"};
  app.require_subcommand(1);
  Flags f;
  auto* run = app.add_subcommand("run", "validate, stage and run a job; exit 0 Completed, 3 Failed, 4 Stopped");
  add_spec_flags(run, f);
  run->add_option("--stop-grace", f.stop_grace, "seconds between SIGTERM and SIGKILL when stopping (default 120)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--s3-concurrency", f.s3_concurrency, "S3 requests in flight per transfer (default 8)")
      ->check(CLI::Range(1, 64));
  auto* validate = app.add_subcommand("validate", "report every problem of a spec; exit 2 when there is an error");
  add_spec_flags(validate, f);
  auto* plan = app.add_subcommand("plan", "print the rank table and the exact mpirun argv; runs nothing");
  add_spec_flags(plan, f);
  std::string job;
  auto* describe = app.add_subcommand("describe", "print a job's DescribeTrainingJob-shaped record");
  describe->add_option("JOB", job, "job name (or job directory)")->required();
  describe->add_option("--jobs-dir", f.jobs_dir, "where job directories are");
  describe->add_flag("--json", f.json, "the record as JSON");
  auto* list = app.add_subcommand("list", "list jobs");
  list->add_option("--jobs-dir", f.jobs_dir, "where job directories are");
  list->add_flag("--json", f.json, "ListTrainingJobs-shaped JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitInvalid;
  }
  try {
    if (*run) {
      JobWatchdog watchdog;  // first: single-threaded, and not yet a subreaper
      prepare_supervision();
      Console con(f.json);
      Json record;
      int rc = run_job(request_from(f), con, &record, &watchdog);
      if (f.json) std::cout << json_text(record.is_null() ? Json::object() : record) << "\n";
      return rc;
    }
    if (*validate) return cmd_validate_or_plan(f, false);
    if (*plan) return cmd_validate_or_plan(f, true);
    if (*describe) return cmd_describe(job, f.jobs_dir, f.json);
    if (*list) return cmd_list(f.jobs_dir, f.json);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    if (!e.fix().empty()) std::fprintf(stderr, "  fix: %s\n", e.fix().c_str());
    return kExitInvalid;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smp-local: internal error: %s\n", e.what());
    return kExitInternal;
  }
  return kExitInvalid;
}
