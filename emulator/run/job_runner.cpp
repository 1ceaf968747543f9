// run_job(): the job's life after pre-flight — stage, launch, supervise, outputs.

#include "emulator/run/job_runner.h"

#include <signal.h>

#include <cmath>
#include <cstdio>

#include "emulator/archive/libarchive_api.h"
#include "emulator/catalog/catalog.h"
#include "emulator/common/background_writer.h"
#include "emulator/common/fs.h"
#include "emulator/outputs/artifacts.h"
#include "emulator/outputs/failure.h"
#include "emulator/outputs/record.h"
#include "emulator/run/exit_codes.h"
#include "emulator/stage/local_checkpoints.h"
#include "emulator/stage/s3_stage.h"
#include "emulator/stage/stage.h"
#include "emulator/supervise/supervisor.h"
#include "emulator/supervise/watchdog.h"
#include "emulator/timeline/timeline.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::system_clock;

// A stop signal that arrived while smp-local was busy outside the supervisor (signals are blocked
// and read through a signalfd while supervising).
bool stop_requested() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) || sigismember(&pending, SIGHUP);
}

std::string code_dir_inside(const JobDir& dir, const std::string& host, NamespaceMode ns) {
  return ns == NamespaceMode::kNone ? (dir.opt_ml(host) / "code").string() : "/opt/ml/code";
}

std::vector<SupervisedProcess> launch_processes(const Prepared& p, const JobDir& dir, const fs::path& mpi_tmp) {
  EnvMap env = current_environment();
  for (auto it = p.job.environment.begin(); it != p.job.environment.end(); ++it)
    env[it.key()] = it.value().get<std::string>();
  env["SMP_LOCAL_JOB_DIR"] = dir.root.string();
  env["SMP_TRACE_DIR"] = dir.rank_traces().string();
  // Open MPI's session directories (named after host and uid) go to a directory of this job's own,
  // so jobs, users and user-namespace "root"s never collide in /tmp.
  env["OMPI_MCA_orte_tmpdir_base"] = mpi_tmp.string();
  std::string agent = (tools_dir() / "smp-local-host-agent").string();
  std::vector<SupervisedProcess> out;
  auto on_host = [&](const std::string& host, const std::vector<std::string>& argv) {
    SupervisedProcess sp;
    sp.spawn.argv = {agent, "--exec", host, "--cwd", code_dir_inside(dir, host, p.machine.namespaces), "--"};
    sp.spawn.argv.insert(sp.spawn.argv.end(), argv.begin(), argv.end());
    sp.spawn.env = env;
    sp.spawn.new_process_group = true;
    return sp;
  };
  if (p.plan.runner == Runner::kMpi) {
    out.push_back(on_host("algo-1", p.plan.mpirun.argv));  // the master host runs mpirun, as on SageMaker
  } else {
    for (const auto& h : p.plan.hosts) {
      auto sp = on_host(h.name, p.plan.entry_argv);
      sp.host = h.name;
      out.push_back(sp);
    }
  }
  return out;
}

// The first failure file a host wrote (algo-1 first): a user-written one wins over TK's text.
std::optional<std::string> host_failure_file(const JobDir& dir, const JobPlan& plan) {
  for (const auto& h : plan.hosts) {
    fs::path f = dir.opt_ml(h.name) / "output" / "failure";
    if (fs::is_regular_file(f)) return read_file(f);
  }
  return std::nullopt;
}

std::string human_bytes(unsigned long long b) {
  char buf[64];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1ull << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  return buf;
}

Json cost_estimate(const TrainingJob& job, double seconds, std::string& line) {
  const InstanceType* t = find_instance_type(job.instance_type);
  if (!t || !t->usd_per_hour) {
    line = "no on-demand price is recorded for " + job.instance_type + "; no cost estimate";
    return nullptr;
  }
  double usd = job.instance_count * (seconds / 3600.0) * *t->usd_per_hour;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "estimated cost on SageMaker: $%.2f = %d × %s × %.0f s at $%.3f/h (an estimate: %s)", usd,
                job.instance_count, job.instance_type.c_str(), seconds, *t->usd_per_hour, kPriceSource);
  line = buf;
  return {{"usd", std::round(usd * 100) / 100},
          {"instance_count", job.instance_count},
          {"instance_type", job.instance_type},
          {"seconds", std::round(seconds)},
          {"usd_per_hour", *t->usd_per_hour},
          {"price_source", kPriceSource}};
}

}  // namespace

int run_job(const RunRequest& req, Console& con, Json* record_out, JobWatchdog* watchdog) {
  Prepared p = prepare(req);
  con.problems(p.problems);
  if (smp::core::has_errors(p.problems)) {
    if (record_out) *record_out = {{"valid", false}, {"problems", problems_json(p.problems)}};
    return kExitInvalid;
  }
  for (const auto& n : p.plan.notes) con.info(n);

  JobDir dir{fs::absolute(req.jobs_root).lexically_normal() / p.job.name};
  if (fs::exists(dir.root)) {
    Problems exists = {error_problem("job_name", "job directory " + dir.root.string() + " already exists.",
                                     "Use another job name, or remove the old job's directory.")};
    con.problems(exists);
    if (record_out) *record_out = {{"valid", false}, {"problems", problems_json(exists)}};
    return kExitInvalid;
  }
  fs::create_directories(dir.root);
  hint_top_directory(dir.root);  // before anything is created in it
  if (watchdog)
    watchdog->watch(dir.root);  // if smp-local dies without cleaning up, so does the job
  fs::create_directories(dir.logs());
  con.attach_logs(dir.logs());
  auto created = Clock::now();
  JobRecord record(p.job, dir.record(), created);
  record.set_local("job_dir", dir.root.string());
  record.set_local("namespaces", to_string(p.machine.namespaces));
  // The job's bookkeeping files are written on a thread of their own while the job goes on.
  BackgroundWriter files;
  files.write(dir.request(), p.job.create_training_job_request().dump(2) + "\n");
  files.write(dir.plan(), plan_json(p).dump(2) + "\n");
  // The record is saved when a phase that can last begins (describe shows it meanwhile) and once at
  // the end, which waits until it is on disk; "Starting" is followed at once by "Downloading", and
  // every end goes through finish().
  auto status = [&](const std::string& primary, const std::string& secondary, const std::string& message) {
    auto now = Clock::now();
    record.transition(primary, secondary, message, now);
    con.status(status_line(now, secondary, message));
    const bool ends = primary == "Completed" || primary == "Failed" || primary == "Stopped";
    if (secondary != "Starting" && !ends) files.write(dir.record(), record.text());
  };
  auto finish = [&](int code) {
    files.write(dir.record(), record.text());
    files.drain();
    if (record_out) *record_out = record.json();
    return code;
  };
  status("InProgress", "Starting", "Starting the training job");

  // Stage.
  status("InProgress", "Downloading", "Downloading input data");
  std::unique_ptr<S3Session> s3;
  if (job_uses_s3(p.job)) s3 = std::make_unique<S3Session>(req.s3_endpoint, con.json_mode(), [&](const std::string& l) { con.info(l); },
                                    req.s3_concurrency);
  std::unique_ptr<LocalCheckpoints> local_checkpoints;
  std::vector<fs::path> checkpoint_dirs;
  try {
    StageReport sr = stage_job(p.job, p.plan, dir, p.machine.namespaces,
                               (tools_dir() / "libsmp_local_gethostname.so").string(),
                               [&](const std::string& l) { con.info(l); }, s3.get());
    if (p.job.checkpoint) {
      for (const auto& h : p.plan.hosts) checkpoint_dirs.push_back(host_checkpoint_dir(p.job, dir, h.name));
      if (p.job.checkpoint->is_s3()) {
        s3->start_checkpoints(p.job.checkpoint->uri, checkpoint_dirs);
      } else {
        local_checkpoints = std::make_unique<LocalCheckpoints>(p.job.checkpoint->uri, checkpoint_dirs);
        con.info("checkpoints " + p.job.checkpoint->uri + ": " + std::to_string(local_checkpoints->copy_in()) +
                 " files copied into each host");
      }
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "staged %zu hosts in %.3f s (%zu bind mounts, %zu files linked, %zu copied)",
                  p.plan.hosts.size(), sr.seconds, sr.mounts, sr.files_linked, sr.files_copied);
    con.info(buf);
    record.set_local("staging_seconds", sr.seconds);
  } catch (const std::exception& e) {
    record.set_failure_reason(std::string("ClientError: ") + e.what());
    if (s3) record.set_local("s3", s3->summaries());
    con.warn(e.what());
    status("Failed", "Failed", "Training job failed");
    return finish(kExitFailed);
  }
  if (stop_requested()) {
    status("Stopping", "Stopping", "Stopping the training job");
    status("Stopped", "Stopped", "Training job stopped");
    return finish(kExitStopped);
  }

  // Launch and supervise.
  std::error_code ec;
  status("InProgress", "Training", "Training image download completed. Training in progress.");
  auto train_start = Clock::now();
  SuperviseOptions so;
  so.max_runtime = std::chrono::seconds(p.job.max_runtime_s);
  so.stop_grace = std::chrono::seconds(req.stop_grace_s);
  so.processes_per_host = p.plan.runner == Runner::kMpi ? p.plan.processes_per_host : 0;
  so.on_line = [&](const LogLine& l) { con.rank_line(l); };
  so.on_stopping = [&](StopCause cause) {
    if (cause == StopCause::kMaxRuntime)
      con.info("max_run of " + std::to_string(p.job.max_runtime_s) + " s reached: SIGTERM to every rank, " +
               std::to_string(req.stop_grace_s) + " s grace, then SIGKILL");
    status("Stopping", "Stopping", "Stopping the training job");
  };
  // Short: Open MPI puts Unix sockets in there (108-byte path limit).
  fs::path mpi_tmp = fs::temp_directory_path() /
                     ("smp-local-" + std::to_string(getpid()) + "-" + std::to_string(std::hash<std::string>{}(dir.root) % 100000));
  fs::create_directories(mpi_tmp);
  fs::permissions(mpi_tmp, fs::perms::owner_all);
  hint_top_directory(mpi_tmp);  // the daemons' session directories: dozens of files per job
  // Packaging needs libarchive: it loads while the job runs, not on the way to the launch.
  archive::LibArchivePrefetch libarchive_loading;
  SuperviseResult sr = supervise(launch_processes(p, dir, mpi_tmp), so);
  fs::remove_all(mpi_tmp, ec);
  auto train_end = Clock::now();
  record.set_training_times(train_start, train_end);
  try {
    std::string line = s3 && p.job.checkpoint && p.job.checkpoint->is_s3() ? s3->finish_checkpoints()
                       : local_checkpoints ? local_checkpoints->sync_back() : "";
    if (!line.empty()) con.info(line);
  } catch (const std::exception& e) {
    con.warn(std::string("checkpoint sync failed: ") + e.what());
  }
  record.set_local("exit_code", sr.exit_code);
  if (sr.killed_after_grace) con.info("the grace period ended: remaining processes were killed (SIGKILL)");

  bool failed = sr.stop == StopCause::kNone && (sr.exit_code != 0 || sr.signal != 0);
  if (failed) {
    ScriptFailure f;
    f.exit_code = sr.signal ? 128 + sr.signal : sr.exit_code;
    f.command = p.plan.runner == Runner::kMpi ? p.plan.mpirun.argv : p.plan.entry_argv;
    f.stderr_tail = sr.stderr_tail;
    if (sr.failure) {
      f.rank = sr.failure->rank;
      f.host = sr.failure->host;
      f.rank_exit_code = sr.failure->exit_code;
      f.rank_signal = sr.failure->signal;
      record.set_local("failed_rank", f.rank);
      record.set_local("failed_host", f.host);
    } else {
      f.host = sr.failed_host;
    }
    std::string reason;
    if (auto user = host_failure_file(dir, p.plan)) {
      reason = *user;
    } else {
      reason = execute_user_script_error(f);
      write_file_atomic(dir.opt_ml(p.plan.hosts.front().name) / "output" / "failure", reason);  // as TK does
    }
    record.set_failure_reason(reason);
  } else if (sr.stop == StopCause::kNone) {
    for (const auto& h : p.plan.hosts) write_file(dir.opt_ml(h.name) / "output" / "success", "");
  }

  // Outputs: the model is packaged whatever the outcome, as SageMaker does.
  status(sr.stop == StopCause::kNone ? "InProgress" : "Stopping", "Uploading", "Uploading generated training model");
  try {
    std::vector<fs::path> roots;
    for (const auto& h : p.plan.hosts) roots.push_back(dir.opt_ml(h.name));
    bool to_s3 = p.job.output_path.rfind("s3://", 0) == 0;
    std::string out_base = p.job.output_path;
    while (!out_base.empty() && out_base.back() == '/') out_base.pop_back();
    out_base += "/" + p.job.name + "/output/";
    fs::path dest = to_s3 ? dir.root / "artifacts" : fs::path(out_base);
    ArtifactsResult ar = package_artifacts(roots, dest);
    for (const auto& c : ar.clashes) con.warn("several hosts wrote " + c + "; the highest-numbered host's copy is kept");
    std::string model_uri = ar.model.string(), output_uri = ar.output.string();
    if (to_s3) {
      model_uri = out_base + "model.tar.gz";
      output_uri = out_base + "output.tar.gz";
      s3->upload(ar.model, model_uri);
      s3->upload(ar.output, output_uri);
    }
    record.set_model_artifacts(model_uri);
    record.set_local("output_artifacts", output_uri);
    char buf[512];
    std::snprintf(buf, sizeof buf, "artifacts: %s (%s), %s (%s) in %.2f s", ar.model.c_str(),
                  human_bytes(ar.model_bytes).c_str(), ar.output.c_str(), human_bytes(ar.output_bytes).c_str(), ar.seconds);
    con.info(buf);
  } catch (const std::exception& e) {
    con.warn(std::string("packaging the artifacts failed: ") + e.what());
    if (!failed && sr.stop == StopCause::kNone) {
      failed = true;
      record.set_failure_reason(std::string("ClientError: uploading the model failed: ") + e.what());
    }
  }

  // Timeline from libsmp's traces, when the job wrote some.
  if (fs::exists(dir.rank_traces(), ec) && !fs::is_empty(dir.rank_traces(), ec)) {
    try {
      auto summary = timeline::build_timeline(dir.rank_traces(), dir.trace());
      con.info("timeline: " + (dir.trace() / "timeline.svg").string() + " (Perfetto: " +
               (dir.trace() / "timeline.json").string() + "); " + timeline::describe(summary));
      record.set_local("timeline", (dir.trace() / "timeline.svg").string());
    } catch (const std::exception& e) {
      con.warn(std::string("no timeline: ") + e.what());
    }
  }

  if (s3) record.set_local("s3", s3->summaries());
  std::string cost_line;
  Json cost = cost_estimate(p.job, std::chrono::duration<double>(train_end - train_start).count(), cost_line);
  if (!cost.is_null()) record.set_local("cost_estimate", cost);
  con.info(cost_line);

  if (sr.stop == StopCause::kMaxRuntime) {
    status("Stopped", "MaxRuntimeExceeded", "Training job stopped: MaxRuntimeInSeconds of " +
                                                std::to_string(p.job.max_runtime_s) + " s exceeded");
    return finish(kExitStopped);
  }
  if (sr.stop == StopCause::kSignal) {
    status("Stopped", "Stopped", "Training job stopped");
    return finish(kExitStopped);
  }
  if (failed) {
    status("Failed", "Failed", "Training job failed");
    con.info("FailureReason: " + record.json().value("FailureReason", ""));
    return finish(kExitFailed);
  }
  status("Completed", "Completed", "Training job completed");
  return finish(kExitCompleted);
}

}  // namespace smplocal
