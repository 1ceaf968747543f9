// prepare(): spec → pre-flight → plan, and the plan's text/JSON renderings.

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "emulator/catalog/catalog.h"
#include "emulator/env/cmd_args.h"
#include "emulator/preflight/checks.h"
#include "emulator/run/job_runner.h"
#include "emulator/s3/config.h"
#include "emulator/stage/s3_stage.h"

namespace smplocal {

namespace fs = std::filesystem;

fs::path tools_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

fs::path smp_package_dir() {
  fs::path dir;
  if (const char* v = getenv("SMP_LOCAL_SMP_PACKAGE_DIR"); v && *v) dir = v;
  else dir = (tools_dir() / ".." / "python").lexically_normal();
  std::error_code ec;
  return fs::exists(dir / "smdistributed" / "modelparallel" / "torch" / "__init__.py", ec) ? dir : fs::path();
}

namespace {

std::string default_region() {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"})
    if (const char* v = getenv(name); v && *v) return v;
  return "us-east-1";
}

std::string join(const std::vector<int>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}

// Quotes an argv element for display only (the argv itself never goes through a shell).
std::string display_arg(const std::string& a) {
  if (!a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>()*?[]{}~#!") == std::string::npos) return a;
  std::string out = "'";
  for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

Prepared prepare(const RunRequest& req) {
  Prepared p;
  SpecContext ctx;
  ctx.default_region = default_region();
  ctx.default_output_path = fs::absolute(req.jobs_root).lexically_normal().string();
  ctx.now = std::chrono::system_clock::now();
  p.job = load_spec(req.spec_file, req.overrides, ctx, p.problems);
  for (auto& pr : check_job(p.job)) p.problems.push_back(pr);

  ProbeOptions probe;
  probe.python = req.python;
  probe.need_python = p.job.entry_point.size() > 3 &&
                      p.job.entry_point.compare(p.job.entry_point.size() - 3, 3, ".py") == 0;
  p.machine = probe_machine(probe);
  if (job_uses_s3(p.job)) {
    try {
      S3Session(req.s3_endpoint, true, [](const std::string&) {}).config();
    } catch (const std::exception& e) {
      p.problems.push_back(error_problem("S3", e.what(),
                                         "Set AWS credentials (environment or ~/.aws) and, for a local S3 server, "
                                         "--s3-endpoint or AWS_ENDPOINT_URL_S3."));
    }
  }
  if (probe.need_python && !p.machine.python_found)
    p.problems.push_back(error_problem("--python", "no Python interpreter \"" + p.machine.python + "\" for the .py entry point.",
                                       "Install python3 or pass --python /path/to/python."));
  // As in SageMaker's PyTorch images, smdistributed.modelparallel is importable on every rank: its
  // directory goes after the interpreter's own sys.path (an installed copy takes precedence).
  if (probe.need_python && !req.no_smp_package) {
    fs::path pkg = smp_package_dir();
    if (!pkg.empty()) {
      p.machine.python_sys_path += (p.machine.python_sys_path.empty() ? "" : ":") + pkg.string();
    } else if (Json mp = p.job.hyperparameter("mp_parameters"); mp.is_object() && !mp.empty()) {
      p.problems.push_back(warning_problem(
          "machine", "libsmp's Python package (smdistributed.modelparallel) is not built, so the "
                     "script's `import smdistributed.modelparallel.torch` will fail.",
          "Build it (ninja -C build smp_python; needs python3-dev, pybind11-dev, python3-torch), "
          "set SMP_LOCAL_SMP_PACKAGE_DIR, or pass --no-smp-package if the image brings its own."));
    }
  }
  if (p.machine.mpirun.empty())
    p.problems.push_back(error_problem("machine", "mpirun (Open MPI) is not installed.",
                                       "Run scripts/install-deps.sh (Debian: apt-get install openmpi-bin)."));

  PlanOptions po;
  po.force_cpu = req.force_cpu;
  po.gpus = req.gpus;
  po.host_agent = (tools_dir() / "smp-local-host-agent").string();
  po.gethostname_preload = (tools_dir() / "libsmp_local_gethostname.so").string();
  po.host_local_sm_env = req.host_local_sm_env;
  if (p.machine.namespaces == NamespaceMode::kNone)
    po.opt_ml_root_pattern = (fs::absolute(req.jobs_root) / p.job.name / "hosts" / "{host}" / "opt" / "ml").lexically_normal().string();
  p.plan = make_plan(p.job, p.machine, po);
  for (auto& pr : p.plan.problems) p.problems.push_back(pr);
  if (p.machine.namespaces == NamespaceMode::kNone)
    p.problems.push_back(warning_problem(
        "machine", "namespaces are not available here: each host's SM_* paths point into its staged tree, the "
                   "hostname comes from an LD_PRELOAD gethostname() shim, and ranks talk over TCP only.",
        "Run as root or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)."));
  return p;
}

Json problems_json(const Problems& problems) {
  Json out = Json::array();
  for (const auto& p : problems)
    out.push_back({{"severity", p.severity == Severity::kError ? "error" : "warning"},
                   {"field", p.field}, {"message", p.message}, {"fix", p.fix}});
  return out;
}

std::string plan_text(const Prepared& p) {
  std::ostringstream out;
  const auto& plan = p.plan;
  const InstanceType* t = find_instance_type(p.job.instance_type);
  out << "job " << p.job.name << ": " << p.job.instance_count << " × " << p.job.instance_type;
  if (t && t->gpus) out << " (" << t->gpus << " × " << t->gpu_model << " each on SageMaker)";
  out << ", runner " << plan.runner_name << ", " << plan.world_size << " ranks, "
      << (plan.use_gpus ? "GPUs" : "CPU only") << ", namespaces: " << to_string(p.machine.namespaces) << "\n";
  if (plan.smp) {
    const auto& c = *plan.smp;
    out << "smp: partitions " << c.pipeline_parallel_degree << ", tensor " << c.tensor_parallel_degree
        << ", microbatches " << c.microbatches << ", pipeline " << smp::core::to_string(c.pipeline)
        << ", placement " << c.placement_strategy << " (" << c.placement_letters() << "), ddp "
        << (c.ddp ? "true" : "false") << ", active_microbatches " << c.active_microbatches << "\n";
  }
  out << "\n rank  host     local  gpu  ";
  if (plan.smp) out << "pp_rank dp_rank tp_rank rdp_rank  mp_group        dp_group";
  out << "\n";
  for (const auto& r : plan.ranks) {
    char buf[256];
    std::snprintf(buf, sizeof buf, " %4d  %-8s %5d  %-4s ", r.rank, r.host.c_str(), r.local_rank, r.gpu.c_str());
    out << buf;
    if (r.coords) {
      std::snprintf(buf, sizeof buf, " %7d %7d %7d %8d  %-14s  %s", r.coords->pp_rank, r.coords->dp_rank,
                    r.coords->tp_rank, r.coords->rdp_rank, ("[" + join(r.mp_group) + "]").c_str(),
                    ("[" + join(r.dp_group) + "]").c_str());
      out << buf;
    }
    out << "\n";
  }
  out << "\n";
  const auto& argv = plan.runner == Runner::kMpi ? plan.mpirun.argv : plan.entry_argv;
  out << (plan.runner == Runner::kMpi ? "mpirun argv (on algo-1, cwd /opt/ml/code):\n  "
                                      : "entry command (on every host, cwd /opt/ml/code):\n  ");
  for (size_t i = 0; i < argv.size(); ++i) out << (i ? " " : "") << display_arg(argv[i]);
  out << "\n";
  for (const auto& n : plan.notes) out << "note: " << n << "\n";
  return out.str();
}

Json plan_json(const Prepared& p) {
  Json ranks = Json::array();
  for (const auto& r : p.plan.ranks) {
    Json row = {{"rank", r.rank}, {"host", r.host}, {"local_rank", r.local_rank}, {"gpu", r.gpu}};
    if (r.coords) {
      row["pp_rank"] = r.coords->pp_rank;
      row["dp_rank"] = r.coords->dp_rank;
      row["tp_rank"] = r.coords->tp_rank;
      row["rdp_rank"] = r.coords->rdp_rank;
      row["mp_rank"] = r.coords->mp_rank;
      row["mp_group"] = r.mp_group;
      row["dp_group"] = r.dp_group;
    }
    ranks.push_back(row);
  }
  Json hosts = Json::array();
  for (const auto& h : p.plan.hosts) hosts.push_back({{"host", h.name}, {"gpus", h.gpu_ids}});
  return {{"TrainingJobName", p.job.name},
          {"runner", p.plan.runner_name},
          {"world_size", p.plan.world_size},
          {"processes_per_host", p.plan.processes_per_host},
          {"use_gpus", p.plan.use_gpus},
          {"namespaces", to_string(p.machine.namespaces)},
          {"hosts", hosts},
          {"ranks", ranks},
          {"mpirun_argv", p.plan.mpirun.argv},
          {"entry_argv", p.plan.entry_argv},
          {"notes", p.plan.notes}};
}

}  // namespace smplocal
