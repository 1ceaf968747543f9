// parse_estimator: the SageMaker Python SDK's PyTorch Estimator(...) + fit(inputs) turned into
// a CreateTrainingJob-shaped TrainingJob, with the SDK's validations and their messages.

#include <set>

#include "emulator/catalog/catalog.h"
#include "emulator/common/fs.h"
#include "emulator/spec/distribution.h"
#include "emulator/spec/spec.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

// Arguments smp-local uses.
const std::set<std::string> kUsed = {
    "entry_point", "source_dir", "hyperparameters", "instance_type", "instance_count",
    "distribution", "inputs", "output_path", "checkpoint_s3_uri", "checkpoint_local_path",
    "max_run", "environment", "base_job_name", "job_name", "framework_version", "py_version",
    "image_uri", "role", "volume_size", "container_log_level", "code_location", "input_mode",
    "region"};
// Arguments accepted for compatibility that change nothing on a local run.
const std::set<std::string> kIgnored = {
    "sagemaker_session", "tags", "metric_definitions", "debugger_hook_config", "disable_profiler",
    "profiler_config", "rules", "enable_sagemaker_metrics", "keep_alive_period_in_seconds",
    "subnets", "security_group_ids", "output_kms_key", "volume_kms_key",
    "encrypt_inter_container_traffic", "max_retry_attempts", "checkpoint_local_path_hint"};
// Arguments whose feature smp-local does not emulate (an error when set to a non-default).
const std::set<std::string> kUnsupported = {
    "dependencies", "instance_groups", "use_spot_instances", "max_wait", "enable_network_isolation",
    "training_recipe", "compiler_config", "disable_output_compression", "model_uri",
    "git_config", "source_dir_kms_key"};

bool is_default(const Json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

std::string string_arg(const Json& spec, const char* key, Problems& problems, std::string fallback = "") {
  if (!spec.contains(key) || spec.at(key).is_null()) return fallback;
  if (!spec.at(key).is_string()) {
    problems.push_back(error_problem(key, std::string(key) + " must be a string, got " + spec.at(key).dump() + "."));
    return fallback;
  }
  return spec.at(key).get<std::string>();
}

int int_arg(const Json& spec, const char* key, int fallback, int min, Problems& problems) {
  if (!spec.contains(key) || spec.at(key).is_null()) return fallback;
  const Json& v = spec.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > INT32_MAX) {
    problems.push_back(error_problem(key, std::string(key) + " must be an integer >= " + std::to_string(min) +
                                              ", got " + v.dump() + "."));
    return fallback;
  }
  return static_cast<int>(v.get<int64_t>());
}

// A local path or file:// URI → absolute path; s3:// URIs unchanged.
std::string location(const std::string& value, const std::filesystem::path& base) {
  if (value.rfind("s3://", 0) == 0) return value;
  std::string v = value.rfind("file://", 0) == 0 ? value.substr(7) : value;
  return absolute_from(base, v).string();
}

ChannelSpec channel_from(const std::string& name, const Json& value, const SpecContext& ctx, Problems& problems) {
  ChannelSpec c;
  c.name = name;
  std::string field = "inputs." + name;
  if (value.is_string()) {
    c.uri = location(value.get<std::string>(), ctx.spec_dir);
    return c;
  }
  if (!value.is_object() || !value.contains("s3_data") || !value.at("s3_data").is_string()) {
    problems.push_back(error_problem(field, "a channel must be a path/URI string or an object with \"s3_data\".",
                                     "Write \"" + name + "\": \"s3://bucket/prefix\" or {\"s3_data\": ...}."));
    return c;
  }
  c.uri = location(value.at("s3_data").get<std::string>(), ctx.spec_dir);
  auto str = [&](const char* key, std::string& out) {
    if (value.contains(key) && value.at(key).is_string()) out = value.at(key).get<std::string>();
  };
  str("distribution", c.distribution);
  str("s3_data_type", c.s3_data_type);
  str("input_mode", c.input_mode);
  str("compression", c.compression);
  str("record_wrapping", c.record_wrapper);
  if (value.contains("content_type") && value.at("content_type").is_string())
    c.content_type = value.at("content_type").get<std::string>();
  for (auto it = value.begin(); it != value.end(); ++it) {
    static const std::set<std::string> known = {"s3_data", "distribution", "s3_data_type", "input_mode",
                                                "compression", "record_wrapping", "content_type"};
    if (!known.count(it.key()))
      problems.push_back(error_problem(field + "." + it.key(), "TrainingInput has no argument \"" + it.key() + "\".",
                                       "Known: s3_data, distribution, s3_data_type, input_mode, "
                                       "compression, record_wrapping, content_type."));
  }
  return c;
}

// Where the SDK uploads sourcedir.tar.gz (fw_utils.tar_and_upload_dir via _stage_user_code_in_s3).
std::string code_upload_uri(const std::string& code_location, const std::string& output_path,
                            const std::string& job_name) {
  const std::string& base = code_location.empty() ? output_path : code_location;
  if (base.rfind("s3://", 0) != 0) return "";
  std::string rest = base.substr(5);
  std::string bucket = rest.substr(0, rest.find('/'));
  std::string prefix;
  if (!code_location.empty() && rest.find('/') != std::string::npos) {
    prefix = rest.substr(rest.find('/') + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  }
  // With only output_path, the SDK keeps the bucket and drops output_path's key prefix.
  return "s3://" + bucket + "/" + (prefix.empty() ? "" : prefix + "/") + job_name + "/source/sourcedir.tar.gz";
}

}  // namespace

TrainingJob parse_estimator(Json spec, const SpecOverrides& ov, const SpecContext& ctx, Problems& problems) {
  TrainingJob job;
  job.format = SpecFormat::kEstimator;
  if (!spec.is_object()) {
    problems.push_back(error_problem("spec", "an Estimator spec must be a JSON object of keyword arguments."));
    return job;
  }
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string& k = it.key();
    if (kUsed.count(k) || kIgnored.count(k)) continue;
    if (kUnsupported.count(k)) {
      if (!is_default(it.value()))
        problems.push_back(error_problem(k, "\"" + k + "\" is not emulated by smp-local.",
                                         "Remove it for local runs (see README, Limits)."));
      continue;
    }
    problems.push_back(error_problem(k, "__init__() got an unexpected keyword argument '" + k + "'",
                                     "Check the spelling against the PyTorch Estimator's arguments."));
  }
  if (ov.instance_count) spec["instance_count"] = *ov.instance_count;
  if (ov.instance_type) spec["instance_type"] = *ov.instance_type;
  if (ov.max_run) spec["max_run"] = *ov.max_run;
  if (ov.job_name) spec["job_name"] = *ov.job_name;
  if (ov.source_dir) spec["source_dir"] = *ov.source_dir;

  job.region = string_arg(spec, "region", problems, ctx.default_region);
  job.instance_type = string_arg(spec, "instance_type", problems);
  job.instance_count = int_arg(spec, "instance_count", 1, 1, problems);
  job.max_runtime_s = int_arg(spec, "max_run", 24 * 60 * 60, 1, problems);
  job.volume_size_gb = int_arg(spec, "volume_size", 30, 1, problems);
  job.role_arn = string_arg(spec, "role", problems);
  job.input_mode = string_arg(spec, "input_mode", problems, "File");
  job.framework_version = string_arg(spec, "framework_version", problems);
  std::string py_version = string_arg(spec, "py_version", problems);
  std::string image_uri = string_arg(spec, "image_uri", problems);
  std::string entry_point = string_arg(spec, "entry_point", problems);
  std::string source_dir = string_arg(spec, "source_dir", problems);

  if (image_uri.empty() && (job.framework_version.empty() || py_version.empty()))
    problems.push_back(error_problem(
        job.framework_version.empty() ? "framework_version" : "py_version",
        "framework_version or py_version was None, yet image_uri was also None. Either specify both "
        "framework_version and py_version, or specify image_uri."));
  if (entry_point.empty())
    problems.push_back(error_problem("entry_point",
                                     "Argument entry_point must be set when training_recipe is not provided"));
  if (job.instance_type.empty())
    problems.push_back(error_problem("instance_type", "instance_type is required.",
                                     "Set the instance type you will train on, e.g. \"ml.p3.16xlarge\"."));
  if (job.instance_type == "local_gpu" && job.instance_count > 1)
    problems.push_back(error_problem("instance_count",
                                     "Distributed Training in Local GPU is not supported. Set instance_count to 1."));

  // Image and job name (SDK: image_uris.retrieve, base_name_from_image, name_from_base).
  const InstanceType* itype = find_instance_type(job.instance_type);
  if (!image_uri.empty()) {
    job.image = image_uri;
  } else {
    job.image = "763104351884.dkr.ecr." + job.region + ".amazonaws.com/pytorch-training:" + job.framework_version +
                "-" + (itype && itype->gpus == 0 ? "cpu" : "gpu") + "-" + py_version;
  }
  std::string job_name = string_arg(spec, "job_name", problems);
  if (job_name.empty()) {
    std::string repo = job.image.substr(job.image.rfind('/') + 1);
    repo = repo.substr(0, repo.find(':'));
    std::string base = string_arg(spec, "base_job_name", problems, repo.empty() ? "training-job" : repo);
    job_name = name_from_base(base, ctx.now);
  }
  job.name = job_name;

  // Code: source_dir (local dir or s3 tarball) + entry_point relative to it.
  if (!entry_point.empty()) {
    if (source_dir.empty()) {
      std::filesystem::path ep = absolute_from(ctx.spec_dir, entry_point);
      job.code_source = ep.string();
      job.entry_point = ep.filename().string();
    } else if (source_dir.rfind("s3://", 0) == 0) {
      job.code_source = source_dir;
      job.entry_point = entry_point;
    } else {
      job.code_source = location(source_dir, ctx.spec_dir);
      std::filesystem::path ep = entry_point;
      if (ep.is_absolute() || !is_within("/src", "/src" / ep))
        problems.push_back(error_problem("entry_point", "entry_point \"" + entry_point +
                                                            "\" must be a path inside source_dir.",
                                         "Give the script's path relative to source_dir."));
      job.entry_point = ep.lexically_normal().string();
    }
  }

  job.output_path = string_arg(spec, "output_path", problems);
  job.output_path = job.output_path.empty() ? ctx.default_output_path : location(job.output_path, ctx.spec_dir);
  std::string code_location = string_arg(spec, "code_location", problems);
  if (!job.code_source.empty() && job.code_source.rfind("s3://", 0) != 0)
    job.code_upload_uri = code_upload_uri(code_location, job.output_path, job.name);

  // Hyperparameters: user values JSON-encoded (Framework._json_encode_hyperparameters).
  Json user_hps = spec.contains("hyperparameters") && !spec.at("hyperparameters").is_null()
                      ? spec.at("hyperparameters") : Json::object();
  if (!user_hps.is_object()) {
    problems.push_back(error_problem("hyperparameters", "hyperparameters must be a dictionary."));
    user_hps = Json::object();
  }
  for (const auto& [key, raw] : ov.hyperparameters) {
    auto decoded = smp::core::py_loads(raw);
    user_hps[key] = decoded ? *decoded : Json(raw);
  }
  for (auto it = user_hps.begin(); it != user_hps.end(); ++it)
    job.hyperparameters[it.key()] = smp::core::py_dumps(it.value());

  // Script-mode keys (Framework._script_mode_hyperparam_update).
  std::string submit_dir = job.code_source.rfind("s3://", 0) == 0 ? job.code_source
                           : !job.code_upload_uri.empty()         ? job.code_upload_uri
                                                                  : "/opt/ml/code";
  int log_level = int_arg(spec, "container_log_level", 20, 0, problems);
  Json script_mode = {{"sagemaker_submit_directory", submit_dir},
                      {"sagemaker_program", job.entry_point},
                      {"sagemaker_container_log_level", log_level},
                      {"sagemaker_job_name", job.name},
                      {"sagemaker_region", job.region}};
  for (auto it = script_mode.begin(); it != script_mode.end(); ++it)
    job.hyperparameters[it.key()] = smp::core::py_dumps(it.value());

  DistributionInput din{spec.contains("distribution") ? spec.at("distribution") : Json(nullptr),
                        job.instance_type, image_uri, job.framework_version, py_version,
                        job.entry_point, ctx.spec_dir};
  Json dist_hps = distribution_hyperparameters(din, problems);
  for (auto it = dist_hps.begin(); it != dist_hps.end(); ++it)
    job.hyperparameters[it.key()] = smp::core::py_dumps(it.value());

  // Inputs (fit(inputs)): a string is the "training" channel.
  if (spec.contains("inputs") && !spec.at("inputs").is_null()) {
    const Json& inputs = spec.at("inputs");
    if (inputs.is_string()) {
      job.channels.push_back(channel_from("training", inputs, ctx, problems));
    } else if (inputs.is_object()) {
      for (auto it = inputs.begin(); it != inputs.end(); ++it)
        job.channels.push_back(channel_from(it.key(), it.value(), ctx, problems));
    } else {
      problems.push_back(error_problem("inputs", "inputs must be a path/URI string or a dictionary of channels."));
    }
  }
  for (const auto& [name, value] : ov.channels) {
    ChannelSpec c = channel_from(name, Json(value), ctx, problems);
    bool replaced = false;
    for (auto& existing : job.channels)
      if (existing.name == name) existing.uri = c.uri, replaced = true;
    if (!replaced) job.channels.push_back(c);
  }
  for (const auto& c : job.channels)
    if (!c.is_s3())
      problems.push_back(warning_problem(
          "inputs." + c.name, "File URIs are supported in local mode only. Please use a S3 URI instead.",
          "On SageMaker this channel must be an s3:// URI; smp-local stages the local path."));

  std::string ckpt = string_arg(spec, "checkpoint_s3_uri", problems);
  if (!ckpt.empty()) {
    job.checkpoint = CheckpointSpec{location(ckpt, ctx.spec_dir)};
    job.checkpoint->local_path = string_arg(spec, "checkpoint_local_path", problems, "/opt/ml/checkpoints");
  } else if (spec.contains("checkpoint_local_path") && !spec.at("checkpoint_local_path").is_null()) {
    problems.push_back(warning_problem("checkpoint_local_path",
                                       "checkpoint_local_path has no effect without checkpoint_s3_uri."));
  }

  if (spec.contains("environment") && !spec.at("environment").is_null()) {
    const Json& env = spec.at("environment");
    if (!env.is_object()) {
      problems.push_back(error_problem("environment", "environment must be a dictionary of strings."));
    } else {
      for (auto it = env.begin(); it != env.end(); ++it) {
        if (!it.value().is_string())
          problems.push_back(error_problem(
              "environment." + it.key(),
              "Invalid type for parameter Environment." + it.key() + ", value: " +
                  smp::core::py_str(it.value()) + ", valid types: <class 'str'>",
              "Quote the value."));
        else
          job.environment[it.key()] = it.value();
      }
    }
  }
  return job;
}

}  // namespace smplocal
