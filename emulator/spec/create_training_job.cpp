// parse_create_training_job: a CreateTrainingJob request (the API shape botocore validates)
// turned into a TrainingJob. No SDK-side validation applies: the request goes straight to the API.

#include <set>

#include "emulator/common/fs.h"
#include "emulator/spec/spec.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

const std::set<std::string> kKnownTopLevel = {
    "TrainingJobName", "HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig",
    "OutputDataConfig", "ResourceConfig", "VpcConfig", "StoppingCondition", "Tags",
    "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
    "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations", "TensorBoardOutputConfig",
    "ExperimentConfig", "ProfilerConfig", "ProfilerRuleConfigurations", "Environment",
    "RetryStrategy", "RemoteDebugConfig", "InfraCheckConfig", "SessionChainingConfig"};

std::string local_or_s3(const std::string& uri, const std::filesystem::path& base) {
  if (uri.rfind("s3://", 0) == 0) return uri;
  std::string v = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
  return absolute_from(base, v).string();
}

const Json& member(const Json& obj, const char* key) {
  static const Json null_json;
  return obj.is_object() && obj.contains(key) ? obj.at(key) : null_json;
}

std::string str_member(const Json& obj, const char* key, const std::string& field, Problems& problems,
                       bool required = false) {
  const Json& v = member(obj, key);
  if (v.is_null()) {
    if (required) problems.push_back(error_problem(field + "." + key, "Missing required parameter in input: \"" +
                                                                         std::string(key) + "\""));
    return "";
  }
  if (!v.is_string()) {
    problems.push_back(error_problem(field + "." + key, "Invalid type for parameter " + field + "." + key +
                                                            ", value: " + v.dump() + ", valid types: <class 'str'>"));
    return "";
  }
  return v.get<std::string>();
}

}  // namespace

TrainingJob parse_create_training_job(Json req, const SpecOverrides& ov, const SpecContext& ctx, Problems& problems) {
  TrainingJob job;
  job.format = SpecFormat::kCreateTrainingJob;
  job.region = ctx.default_region;
  for (auto it = req.begin(); it != req.end(); ++it) {
    if (!kKnownTopLevel.count(it.key()))
      problems.push_back(error_problem(it.key(), "Unknown parameter in input: \"" + it.key() +
                                                     "\", must be one of: TrainingJobName, HyperParameters, "
                                                     "AlgorithmSpecification, RoleArn, InputDataConfig, ..."));
  }
  for (const char* unsupported : {"EnableManagedSpotTraining", "EnableNetworkIsolation"}) {
    const Json& v = member(req, unsupported);
    if (v.is_boolean() && v.get<bool>())
      problems.push_back(error_problem(unsupported, std::string(unsupported) + " is not emulated by smp-local.",
                                       "Remove it for local runs."));
  }

  job.name = ov.job_name ? *ov.job_name : str_member(req, "TrainingJobName", "", problems, true);
  job.role_arn = str_member(req, "RoleArn", "", problems);

  const Json& hps = member(req, "HyperParameters");
  if (hps.is_object()) {
    for (auto it = hps.begin(); it != hps.end(); ++it) {
      if (!it.value().is_string())
        problems.push_back(error_problem("HyperParameters." + it.key(),
                                         "Invalid type for parameter HyperParameters." + it.key() + ", value: " +
                                             it.value().dump() + ", valid types: <class 'str'>"));
      else
        job.hyperparameters[it.key()] = it.value();
    }
  }
  for (const auto& [k, v] : ov.hyperparameters) job.hyperparameters[k] = v;
  if (ov.source_dir) job.hyperparameters["sagemaker_submit_directory"] = smp::core::py_dumps(Json(*ov.source_dir));

  const Json& algo = member(req, "AlgorithmSpecification");
  if (algo.is_null()) problems.push_back(error_problem("AlgorithmSpecification", "Missing required parameter in input: \"AlgorithmSpecification\""));
  job.image = str_member(algo, "TrainingImage", "AlgorithmSpecification", problems);
  std::string mode = str_member(algo, "TrainingInputMode", "AlgorithmSpecification", problems);
  if (!mode.empty()) job.input_mode = mode;
  // The DLC tag carries the framework version: ".../pytorch-training:1.8.1-gpu-py36".
  auto colon = job.image.rfind(':');
  if (colon != std::string::npos) job.framework_version = job.image.substr(colon + 1, job.image.find('-', colon) - colon - 1);

  const Json& rc = member(req, "ResourceConfig");
  job.instance_type = str_member(rc, "InstanceType", "ResourceConfig", problems, true);
  if (member(rc, "InstanceCount").is_number_integer()) job.instance_count = member(rc, "InstanceCount").get<int>();
  if (member(rc, "VolumeSizeInGB").is_number_integer()) job.volume_size_gb = member(rc, "VolumeSizeInGB").get<int>();
  if (!member(rc, "InstanceGroups").is_null())
    problems.push_back(error_problem("ResourceConfig.InstanceGroups", "heterogeneous clusters are not emulated by smp-local."));
  if (ov.instance_count) job.instance_count = *ov.instance_count;
  if (ov.instance_type) job.instance_type = *ov.instance_type;
  if (job.instance_count < 1)
    problems.push_back(error_problem("ResourceConfig.InstanceCount", "InstanceCount must be at least 1."));

  const Json& sc = member(req, "StoppingCondition");
  if (member(sc, "MaxRuntimeInSeconds").is_number_integer()) job.max_runtime_s = member(sc, "MaxRuntimeInSeconds").get<int>();
  if (ov.max_run) job.max_runtime_s = *ov.max_run;

  const Json& out = member(req, "OutputDataConfig");
  std::string out_path = str_member(out, "S3OutputPath", "OutputDataConfig", problems);
  job.output_path = out_path.empty() ? ctx.default_output_path : local_or_s3(out_path, ctx.spec_dir);

  const Json& channels = member(req, "InputDataConfig");
  if (channels.is_array()) {
    for (const auto& ch : channels) {
      ChannelSpec c;
      c.name = str_member(ch, "ChannelName", "InputDataConfig", problems, true);
      std::string field = "InputDataConfig." + c.name;
      const Json& ds = member(member(ch, "DataSource"), "S3DataSource");
      if (ds.is_null()) {
        problems.push_back(error_problem(field + ".DataSource", "only S3DataSource channels are emulated "
                                                                "(FileSystemDataSource is not)."));
        continue;
      }
      c.uri = local_or_s3(str_member(ds, "S3Uri", field, problems, true), ctx.spec_dir);
      std::string t = str_member(ds, "S3DataType", field, problems);
      if (!t.empty()) c.s3_data_type = t;
      std::string d = str_member(ds, "S3DataDistributionType", field, problems);
      if (!d.empty()) c.distribution = d;
      std::string ct = str_member(ch, "ContentType", field, problems);
      if (!ct.empty()) c.content_type = ct;
      std::string comp = str_member(ch, "CompressionType", field, problems);
      if (!comp.empty()) c.compression = comp;
      std::string rw = str_member(ch, "RecordWrapperType", field, problems);
      if (!rw.empty()) c.record_wrapper = rw;
      c.input_mode = str_member(ch, "InputMode", field, problems);
      job.channels.push_back(c);
    }
  }
  for (const auto& [name, value] : ov.channels) {
    bool replaced = false;
    for (auto& c : job.channels)
      if (c.name == name) c.uri = local_or_s3(value, ctx.spec_dir), replaced = true;
    if (!replaced) {
      ChannelSpec c;
      c.name = name;
      c.uri = local_or_s3(value, ctx.spec_dir);
      job.channels.push_back(c);
    }
  }

  const Json& ck = member(req, "CheckpointConfig");
  if (ck.is_object()) {
    job.checkpoint = CheckpointSpec{local_or_s3(str_member(ck, "S3Uri", "CheckpointConfig", problems, true), ctx.spec_dir)};
    std::string lp = str_member(ck, "LocalPath", "CheckpointConfig", problems);
    if (!lp.empty()) job.checkpoint->local_path = lp;
  }

  const Json& env = member(req, "Environment");
  if (env.is_object()) {
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (!it.value().is_string())
        problems.push_back(error_problem("Environment." + it.key(), "Invalid type for parameter Environment." + it.key() +
                                                                        ", value: " + it.value().dump() +
                                                                        ", valid types: <class 'str'>"));
      else
        job.environment[it.key()] = it.value();
    }
  }

  // Code: the script-mode hyperparameters (or the SAGEMAKER_* environment the toolkit also reads).
  Json program = job.hyperparameter("sagemaker_program");
  if (job.environment.contains("SAGEMAKER_PROGRAM")) program = job.environment.at("SAGEMAKER_PROGRAM");
  if (program.is_string()) job.entry_point = program.get<std::string>();
  Json submit = job.hyperparameter("sagemaker_submit_directory");
  if (submit.is_string() && submit.get<std::string>() != "/opt/ml/code")
    job.code_source = local_or_s3(submit.get<std::string>(), ctx.spec_dir);
  Json region = job.hyperparameter("sagemaker_region");
  if (region.is_string()) job.region = region.get<std::string>();
  if (job.entry_point.empty())
    problems.push_back(error_problem("HyperParameters.sagemaker_program",
                                     "no entry point: the request has neither the sagemaker_program hyperparameter "
                                     "nor SAGEMAKER_PROGRAM in Environment.",
                                     "Add \"sagemaker_program\": \"\\\"train.py\\\"\" to HyperParameters."));
  if (job.code_source.empty())
    problems.push_back(error_problem("HyperParameters.sagemaker_submit_directory",
                                     "no code location: sagemaker_submit_directory must name an s3://…/sourcedir.tar.gz, "
                                     "a local directory or file:// path.",
                                     "Add \"sagemaker_submit_directory\": \"\\\"file:///path/to/src\\\"\"."));
  return job;
}

}  // namespace smplocal
