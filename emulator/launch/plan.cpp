#include "emulator/launch/plan.h"

#include <algorithm>
#include <filesystem>

#include "emulator/catalog/catalog.h"
#include "emulator/env/cmd_args.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

bool truthy_hp(const TrainingJob& job, const std::string& key) {
  return smp::core::py_truthy(job.hyperparameter(key));
}

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
  return s;
}

std::string join_ints(const std::vector<int>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}

// The PyTorch DLC's runner choice (contract §4.1), first true flag wins.
void choose_runner(const TrainingJob& job, JobPlan& plan) {
  struct Flag { const char* hp; const char* name; };
  static const Flag order[] = {{"sagemaker_mpi_enabled", "mpi"},
                               {"sagemaker_pytorch_ddp_enabled", "smdistributed.dataparallel (pytorchddp)"},
                               {"sagemaker_torch_distributed_enabled", "torch_distributed (torchrun)"},
                               {"sagemaker_distributed_dataparallel_enabled", "smdistributed.dataparallel"},
                               {"sagemaker_pytorch_xla_multi_worker_enabled", "pytorchxla"}};
  for (const auto& f : order) {
    if (!truthy_hp(job, f.hp)) continue;
    plan.runner_name = f.name;
    plan.runner = std::string(f.name) == "mpi" ? Runner::kMpi : Runner::kUnsupported;
    if (plan.runner == Runner::kUnsupported)
      plan.problems.push_back(error_problem(
          "distribution", std::string("the ") + f.name + " launcher is not emulated by smp-local yet.",
          "Supported: distribution with \"mpi\" (incl. smdistributed.modelparallel), or none."));
    return;
  }
  plan.runner = Runner::kProcess;
  plan.runner_name = "process";
}

}  // namespace

int processes_per_host(const TrainingJob& job) {
  Json v = job.hyperparameter("sagemaker_mpi_num_of_processes_per_host");
  if (v.is_number_integer() && v.get<int64_t>() > 0) return static_cast<int>(v.get<int64_t>());
  const InstanceType* t = find_instance_type(job.instance_type);
  return t && t->gpus > 0 ? t->gpus : 1;
}

JobPlan make_plan(const TrainingJob& job, const Machine& machine, const PlanOptions& options) {
  JobPlan plan;
  choose_runner(job, plan);
  const InstanceType* itype = find_instance_type(job.instance_type);
  int hosts = std::max(1, job.instance_count);
  plan.processes_per_host = plan.runner == Runner::kMpi ? processes_per_host(job) : 1;
  Json np = job.hyperparameter("sagemaker_mpi_num_processes");
  plan.world_size = np.is_number_integer() && plan.runner == Runner::kMpi ? np.get<int>()
                                                                          : plan.processes_per_host * hosts;

  // SMP v1 (mp_parameters) checks: SDK-independent, as the job would fail at smp.init.
  Json mp = job.hyperparameter("mp_parameters");
  if (!mp.is_null() && !(mp.is_object() && mp.empty())) {
    const std::string field = "mp_parameters";
    if (!truthy_hp(job, "sagemaker_mpi_enabled"))
      plan.problems.push_back(error_problem(
          "distribution.mpi", "Cannot use Model Parallelism without MPI enabled!",
          "Add \"mpi\": {\"enabled\": true, \"processes_per_host\": N} next to \"smdistributed\"."));
    Problems config_problems;
    smp::core::Config config = smp::core::parse_config(mp, field, config_problems);
    for (auto& p : config_problems) plan.problems.push_back(p);
    if (!smp::core::has_errors(config_problems)) {
      for (auto& p : smp::core::check_world(config, plan.world_size, field)) plan.problems.push_back(p);
      for (auto& p : smp::core::libsmp_unsupported(config, field)) plan.problems.push_back(p);
      plan.smp = config;
    }
    if (itype && !itype->smp_v1_supported)
      plan.problems.push_back(warning_problem(
          "instance_type", job.instance_type + " is not in SMP v1's supported list (ml.g4dn.12xlarge, "
                           "ml.p3.16xlarge, ml.p3dn.24xlarge, ml.p4d.24xlarge, ml.p4de.24xlarge)."));
  }
  bool smdistributed = (!mp.is_null() && !(mp.is_object() && mp.empty())) ||
                       truthy_hp(job, "sagemaker_distributed_dataparallel_enabled");

  // The target instance type.
  if (plan.runner == Runner::kMpi && itype && itype->gpus > 0 && plan.processes_per_host > itype->gpus) {
    std::string msg = "processes_per_host (" + std::to_string(plan.processes_per_host) + ") is larger than the " +
                      std::to_string(itype->gpus) + " GPUs of " + job.instance_type +
                      "; SageMaker maps one process to one GPU";
    if (smdistributed) {
      plan.problems.push_back(error_problem(
          "distribution.mpi.processes_per_host",
          msg + " and the job fails with \"node-local MPI processes " + std::to_string(plan.processes_per_host) +
              " cannot be larger than the device count " + std::to_string(itype->gpus) + "\".",
          "Lower processes_per_host to at most " + std::to_string(itype->gpus) +
              ", or choose an instance type with more GPUs."));
    } else {
      plan.problems.push_back(warning_problem("distribution.mpi.processes_per_host", msg + "."));
    }
  }

  // GPUs of this machine: --cpu, --gpus, or all of them when the target has GPUs.
  std::vector<int> selected;
  if (options.gpus) {
    for (int g : *options.gpus) {
      bool exists = std::any_of(machine.gpus.begin(), machine.gpus.end(), [&](const GpuInfo& i) { return i.index == g; });
      if (!exists)
        plan.problems.push_back(error_problem("--gpus", "GPU " + std::to_string(g) + " does not exist on this machine (" +
                                                            std::to_string(machine.gpus.size()) + " GPUs found via " +
                                                            machine.gpu_source + ").",
                                              "Pick indices shown by `nvidia-smi -L`, or run with --cpu."));
    }
    selected = *options.gpus;
  } else if (!options.force_cpu && (!itype || itype->gpus > 0)) {
    for (const auto& g : machine.gpus) selected.push_back(g.index);
  }
  plan.use_gpus = !options.force_cpu && !selected.empty();
  int gpus_per_host = 0;
  if (plan.use_gpus) {
    gpus_per_host = plan.runner == Runner::kMpi ? plan.processes_per_host
                                                : std::min(itype ? std::max(1, itype->gpus) : 1,
                                                           static_cast<int>(selected.size()) / hosts);
    int needed = gpus_per_host * hosts;
    if (needed > static_cast<int>(selected.size()) || gpus_per_host == 0) {
      plan.problems.push_back(error_problem(
          options.gpus ? "--gpus" : "machine",
          "the job needs " + std::to_string(std::max(needed, hosts)) + " GPUs (" + std::to_string(hosts) + " hosts × " +
              std::to_string(std::max(gpus_per_host, 1)) + "), but " + std::to_string(selected.size()) +
              (options.gpus ? " were selected with --gpus." : " are available on this machine."),
          "Run every rank on CPU with --cpu, select more devices with --gpus, or lower "
          "instance_count/processes_per_host."));
      plan.use_gpus = false;
    }
  }
  if (plan.world_size > machine.cores)
    plan.problems.push_back(warning_problem(
        "machine", std::to_string(plan.world_size) + " ranks on " + std::to_string(machine.cores) +
                       " CPU cores: ranks will share cores and run slower than on " + job.instance_type + "."));

  // Hosts and their containers.
  for (int h = 0; h < hosts; ++h) {
    HostPlan hp;
    hp.index = h;
    hp.name = "algo-" + std::to_string(h + 1);
    if (plan.use_gpus)
      for (int i = 0; i < gpus_per_host; ++i) hp.gpu_ids.push_back(selected[h * gpus_per_host + i]);
    hp.facts.num_cpus = machine.cores;
    hp.facts.num_gpus = static_cast<int>(hp.gpu_ids.size());
    hp.facts.cuda_visible_devices = join_ints(hp.gpu_ids);
    hp.facts.network_interface = machine.network_interface;
    hp.facts.python_path_tail = machine.python_sys_path;
    OptMlPaths paths;
    if (!options.opt_ml_root_pattern.empty()) paths.root = replace_all(options.opt_ml_root_pattern, "{host}", hp.name);
    plan.containers.push_back(container_env(job, h, hp.facts, paths));
    plan.hosts.push_back(hp);
  }

  // Ranks, with SMP coordinates when model parallelism is on.
  std::optional<smp::core::Topology> topo;
  if (plan.smp && !smp::core::has_errors(plan.problems)) {
    try {
      topo.emplace(plan.world_size, plan.smp->pipeline_parallel_degree, plan.smp->tensor_parallel_degree,
                   plan.smp->placement_strategy);
    } catch (const std::exception&) {
    }
  }
  for (int r = 0; r < plan.world_size; ++r) {
    RankRow row;
    row.rank = r;
    int h = std::min(r / plan.processes_per_host, hosts - 1);
    row.host = plan.hosts[h].name;
    row.local_rank = r % plan.processes_per_host;
    row.gpu = plan.use_gpus && row.local_rank < static_cast<int>(plan.hosts[h].gpu_ids.size())
                  ? std::to_string(plan.hosts[h].gpu_ids[row.local_rank]) : "cpu";
    if (topo) {
      row.coords = topo->coords(r);
      row.mp_group = topo->group(smp::core::CommGroup::kMp, r);
      row.dp_group = topo->group(smp::core::CommGroup::kDp, r);
    }
    plan.ranks.push_back(row);
  }

  // The user program.
  bool setup_py = !job.code_source.empty() && job.code_source.rfind("s3://", 0) != 0 &&
                  std::filesystem::is_directory(job.code_source) &&
                  std::filesystem::exists(std::filesystem::path(job.code_source) / "setup.py");
  EntryCommandInput eci;
  eci.entry_point = job.entry_point;
  eci.kind = entry_kind(job.entry_point, setup_py);
  eci.python = machine.python;
  eci.mpi = plan.runner == Runner::kMpi;
  eci.mpi4py_available = machine.mpi4py;
  eci.user_args = plan.containers.front().user_args;
  plan.entry_argv = entry_command(eci);
  auto unsafe = shell_unsafe_args(eci.user_args);
  if (!unsafe.empty())
    plan.problems.push_back(warning_problem(
        "hyperparameters", "on SageMaker the PyTorch container joins the command with spaces and runs it through "
                           "/bin/sh without quoting, so these arguments would be re-split or interpreted there: " +
                               smp::core::py_repr(Json(unsafe)) + " (smp-local passes them byte-exact).",
        "Avoid spaces and shell characters in hyperparameter values."));

  if (plan.runner == Runner::kMpi) {
    const ContainerEnv& master = plan.containers.front();
    MpirunInput in;
    // Not the absolute path: Open MPI treats /usr/bin/mpirun like --prefix /usr and then wraps the
    // remote orted command in shell assignments; TK runs plain "mpirun" too.
    in.mpirun = "mpirun";
    for (const auto& h : master.training_env.at("distribution_hosts")) in.hosts.push_back(h.get<std::string>());
    in.processes_per_host = plan.processes_per_host;
    in.num_processes = np.is_number_integer() ? np.get<int>() : 0;
    in.network_interface = machine.network_interface;
    Json custom = job.hyperparameter("sagemaker_mpi_custom_mpi_options");
    in.custom_mpi_options = custom.is_string() ? custom.get<std::string>() : "";
    in.instance_efa_nccl = itype && itype->tk_efa_nccl;
    in.instance_efa_rdma = itype && itype->tk_efa_rdma;
    in.local_efa = machine.efa;
    in.gethostname_preload = options.gethostname_preload;
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
      if (getenv(name)) in.aws_credential_names.push_back(name);
    in.forward_ld_library_path = getenv("LD_LIBRARY_PATH") != nullptr;
    for (const auto& [name, value] : master.sm_env)
      if (!(options.host_local_sm_env && name.rfind("SM_", 0) == 0)) in.exported_env_names.push_back(name);
    for (const auto& [name, value] : master.sm_env)
      if (name == "SM_HP_MP_PARAMETERS") in.modelparallel = !value.empty() && value != "{}";
    in.dlc_torch_version = job.framework_version;
    in.entry_argv = plan.entry_argv;
    in.host_agent = options.host_agent;
    in.tcp_only_btl = machine.namespaces == NamespaceMode::kNone;
    plan.mpirun = build_mpirun_command(in);
    for (auto& p : plan.mpirun.problems) plan.problems.push_back(p);
    plan.notes.insert(plan.notes.end(), plan.mpirun.notes.begin(), plan.mpirun.notes.end());
  }
  return plan;
}

}  // namespace smplocal
