#include "emulator/env/container_env.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "emulator/env/cmd_args.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

using smp::core::py_dumps_compact;

const std::set<std::string> kFixedSagemakerHps = {
    "sagemaker_program", "sagemaker_submit_directory", "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region", "sagemaker_container_log_level", "sagemaker_job_name",
    "default_user_module_name", "_tuning_objective_metric", "sagemaker_s3_output"};

const char* kGroup = "homogeneousCluster";
const char* kFrameworkModule = "sagemaker_pytorch_container.training:main";

// mapping.to_env_vars value formatting: strings as-is, None empty, others compact sorted JSON.
std::string env_value(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return py_dumps_compact(v);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<std::string> host_names(int count) {
  std::vector<std::string> hosts;
  for (int i = 1; i <= count; ++i) hosts.push_back("algo-" + std::to_string(i));
  std::sort(hosts.begin(), hosts.end());  // "sorted lexicographically" (contract §1.3)
  return hosts;
}

bool is_sagemaker_hyperparameter(const std::string& key) {
  return kFixedSagemakerHps.count(key) || key.rfind("sagemaker_", 0) == 0;
}

EnvList ContainerEnv::all() const {
  EnvList out = platform_env;
  out.insert(out.end(), toolkit_env.begin(), toolkit_env.end());
  out.insert(out.end(), sm_env.begin(), sm_env.end());
  return out;
}

ContainerEnv container_env(const TrainingJob& job, int host_index, const HostFacts& facts,
                           const OptMlPaths& paths) {
  ContainerEnv c;
  std::vector<std::string> hosts = host_names(job.instance_count);
  // Host algo-K for index K-1 (hosts[] is lexicographic: algo-10 sorts before algo-2).
  c.host = "algo-" + std::to_string(host_index + 1);

  // hyperparameters.json: as sent. Local code appears as /opt/ml/code (SDK local-code mode).
  c.hyperparameters_file = job.hyperparameters;

  // resourceconfig.json (contract §1.3): identical instance_groups on every host, algo-1 first.
  std::vector<std::string> group_hosts;
  for (int i = 1; i <= job.instance_count; ++i) group_hosts.push_back("algo-" + std::to_string(i));
  Json group = {{"instance_group_name", kGroup}, {"instance_type", job.instance_type}, {"hosts", group_hosts}};
  c.resource_config = {{"current_host", c.host},
                       {"current_instance_type", job.instance_type},
                       {"current_group_name", kGroup},
                       {"hosts", hosts},
                       {"instance_groups", Json::array({group})},
                       {"network_interface_name", facts.network_interface}};

  // inputdataconfig.json (contract §1.4, LOG-A key order).
  c.input_data_config = Json::object();
  Json channel_dirs = Json::object();
  std::vector<std::string> channel_names;
  for (const auto& ch : job.channels) {
    Json entry = Json::object();
    if (ch.content_type) entry["ContentType"] = *ch.content_type;
    entry["TrainingInputMode"] = ch.input_mode.empty() ? job.input_mode : ch.input_mode;
    entry["S3DistributionType"] = ch.distribution;
    entry["RecordWrapperType"] = ch.record_wrapper;
    c.input_data_config[ch.name] = entry;
    channel_dirs[ch.name] = paths.data() + "/" + ch.name;
    channel_names.push_back(ch.name);
  }
  std::sort(channel_names.begin(), channel_names.end());
  if (job.checkpoint) {
    std::string uri = job.checkpoint->is_s3() ? job.checkpoint->uri : "file://" + job.checkpoint->uri;
    c.checkpoint_config = Json{{"LocalPath", job.checkpoint->local_path}, {"S3Uri", uri}};
  }

  // TK Environment.__init__.
  Json all_hps = job.decoded_hyperparameters();
  Json user_hps = Json::object(), sm_hps = Json::object(), framework_params = Json::object();
  for (auto it = all_hps.begin(); it != all_hps.end(); ++it) {
    if (is_sagemaker_hyperparameter(it.key())) {
      sm_hps[it.key()] = it.value();
      if (!kFixedSagemakerHps.count(it.key())) framework_params[it.key()] = it.value();
    } else {
      user_hps[it.key()] = it.value();
    }
  }
  Json distribution_groups = Json::array();
  if (framework_params.contains("sagemaker_distribution_instance_groups")) {
    distribution_groups = framework_params.at("sagemaker_distribution_instance_groups");
  } else {
    for (const char* flag : {"sagemaker_mpi_enabled", "sagemaker_parameter_server_enabled",
                             "sagemaker_distributed_dataparallel_enabled", "sagemaker_pytorch_ddp_enabled",
                             "sagemaker_pytorch_xla_multi_worker_enabled", "sagemaker_torch_distributed_enabled",
                             "sagemaker_multi_worker_mirrored_strategy_enabled"}) {
      if (framework_params.contains(flag) && smp::core::py_truthy(framework_params.at(flag))) {
        distribution_groups.push_back(kGroup);
        break;
      }
    }
  }
  Json distribution_hosts = Json::array();
  if (!distribution_groups.empty()) distribution_hosts = group_hosts;
  c.master_host = distribution_hosts.empty() ? hosts.front() : distribution_hosts.front().get<std::string>();
  c.is_master = c.host == c.master_host;

  Json program = sm_hps.contains("sagemaker_program") ? sm_hps.at("sagemaker_program") : Json(nullptr);
  std::string entry = program.is_null() ? "None" : smp::core::py_str(program);
  std::string module_name = entry.size() > 3 && entry.substr(entry.size() - 3) == ".py"
                                ? entry.substr(0, entry.size() - 3) : entry;
  std::string module_dir = sm_hps.contains("sagemaker_submit_directory")
                               ? smp::core::py_str(sm_hps.at("sagemaker_submit_directory")) : paths.code();
  Json log_level = sm_hps.contains("sagemaker_container_log_level") ? sm_hps.at("sagemaker_container_log_level")
                                                                    : Json(20);
  c.user_args = to_cmd_args(user_hps);

  Json instance_groups = Json::array({kGroup});
  Json instance_groups_dict = {{kGroup, group}};
  Json training_env = Json::object();
  training_env["additional_framework_parameters"] = framework_params;
  training_env["channel_input_dirs"] = channel_dirs;
  training_env["current_host"] = c.host;
  training_env["current_instance_group"] = kGroup;
  training_env["current_instance_group_hosts"] = group_hosts;
  training_env["current_instance_type"] = job.instance_type;
  training_env["distribution_hosts"] = distribution_hosts;
  training_env["distribution_instance_groups"] = distribution_groups;
  training_env["framework_module"] = kFrameworkModule;
  training_env["hosts"] = hosts;
  training_env["hyperparameters"] = user_hps;
  training_env["input_config_dir"] = paths.config();
  training_env["input_data_config"] = c.input_data_config;
  training_env["input_dir"] = paths.input();
  training_env["instance_groups"] = instance_groups;
  training_env["instance_groups_dict"] = instance_groups_dict;
  training_env["is_hetero"] = false;
  training_env["is_master"] = c.is_master;
  // Computed before TK exports SM_HP_MP_PARAMETERS, so it serializes as null (contract §2.2).
  training_env["is_modelparallel_enabled"] = nullptr;
  training_env["is_smddpmprun_installed"] = false;
  training_env["is_smddprun_installed"] = false;
  training_env["job_name"] = job.name;
  training_env["log_level"] = log_level;
  training_env["master_hostname"] = c.master_host;
  training_env["model_dir"] = paths.model();
  training_env["module_dir"] = module_dir;
  training_env["module_name"] = module_name;
  training_env["network_interface_name"] = facts.network_interface;
  training_env["num_cpus"] = facts.num_cpus;
  training_env["num_gpus"] = facts.num_gpus;
  training_env["num_neurons"] = 0;
  training_env["output_data_dir"] = paths.output_data();
  training_env["output_dir"] = paths.output();
  training_env["output_intermediate_dir"] = paths.intermediate();
  training_env["resource_config"] = c.resource_config;
  training_env["topology"] = nullptr;
  training_env["user_entry_point"] = program;
  c.training_env = training_env;

  // to_env_vars, in its emission order (contract §2.4).
  Json channels_sorted = channel_names;
  auto sm = [&](const std::string& key, const Json& value) { c.sm_env.emplace_back("SM_" + upper(key), env_value(value)); };
  sm("hosts", hosts);
  sm("network_interface_name", facts.network_interface);
  sm("hps", user_hps);
  sm("user_entry_point", program);
  sm("framework_params", framework_params);
  sm("resource_config", c.resource_config);
  sm("input_data_config", c.input_data_config);
  sm("output_data_dir", paths.output_data());
  sm("channels", channels_sorted);
  sm("current_host", c.host);
  sm("current_instance_type", job.instance_type);
  sm("current_instance_group", kGroup);
  sm("current_instance_group_hosts", group_hosts);
  sm("instance_groups", instance_groups);
  sm("instance_groups_dict", instance_groups_dict);
  sm("distribution_instance_groups", distribution_groups);
  sm("is_hetero", false);
  sm("module_name", module_name);
  sm("log_level", log_level);
  sm("framework_module", kFrameworkModule);
  sm("input_dir", paths.input());
  sm("input_config_dir", paths.config());
  sm("output_dir", paths.output());
  sm("num_cpus", facts.num_cpus);
  sm("num_gpus", facts.num_gpus);
  sm("num_neurons", 0);
  sm("model_dir", paths.model());
  sm("module_dir", module_dir);
  sm("training_env", training_env);
  sm("user_args", c.user_args);
  sm("output_intermediate_dir", paths.intermediate());
  for (const auto& ch : job.channels) sm("channel_" + ch.name, paths.data() + "/" + ch.name);
  for (auto it = user_hps.begin(); it != user_hps.end(); ++it) sm("hp_" + it.key(), it.value());
  c.sm_env.emplace_back("PYTHONPATH", paths.code() + (facts.python_path_tail.empty() ? "" : ":" + facts.python_path_tail));

  // Outside TK: the platform (TRAINING_JOB_NAME/ARN, Environment) and the DLC image's ENV.
  c.platform_env = {{"TRAINING_JOB_NAME", job.name},
                    {"TRAINING_JOB_ARN", "arn:aws:sagemaker:" + job.region + ":000000000000:training-job/" + job.name},
                    {"SAGEMAKER_TRAINING_MODULE", kFrameworkModule},
                    {"CUDA_VISIBLE_DEVICES", facts.cuda_visible_devices}};
  for (auto it = job.environment.begin(); it != job.environment.end(); ++it)
    c.platform_env.emplace_back(it.key(), it.value().get<std::string>());

  // TK side effects on os.environ, then the PyTorch container's additions (PT training.py).
  Json job_name_hp = sm_hps.contains("sagemaker_job_name") ? sm_hps.at("sagemaker_job_name") : Json("");
  Json region_hp = sm_hps.contains("sagemaker_region") ? sm_hps.at("sagemaker_region") : Json(job.region);
  c.toolkit_env = {{"SAGEMAKER_JOB_NAME", smp::core::py_str(job_name_hp)},
                   {"CURRENT_HOST", c.host},
                   {"SAGEMAKER_REGION", smp::core::py_str(region_hp)},
                   {"NCCL_SOCKET_IFNAME", facts.network_interface},
                   {"NCCL_IB_DISABLE", "1"},
                   {"NCCL_DEBUG", "WARN"},
                   {"MASTER_ADDR", c.master_host},
                   {"MASTER_PORT", "7777"}};
  if (!job.framework_version.empty()) c.toolkit_env.emplace_back("SM_DLC_TORCH_VERSION", job.framework_version);
  return c;
}

}  // namespace smplocal
