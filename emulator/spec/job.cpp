#include "emulator/spec/job.h"

#include <algorithm>
#include <cctype>

#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

std::string as_uri(const std::string& location) {
  if (location.rfind("s3://", 0) == 0 || location.empty()) return location;
  return "file://" + location;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

}  // namespace

bool is_secret_env_name(const std::string& name) {
  std::string u = upper(name);
  for (const char* marker : {"SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY"})
    if (u.find(marker) != std::string::npos) return true;
  return u == "AWS_ACCESS_KEY_ID";
}

Json TrainingJob::hyperparameter(const std::string& key) const {
  if (!hyperparameters.contains(key)) return nullptr;
  const std::string raw = hyperparameters.at(key).get<std::string>();
  auto decoded = smp::core::py_loads(raw);
  return decoded ? *decoded : Json(raw);
}

Json TrainingJob::decoded_hyperparameters() const {
  Json out = Json::object();
  for (auto it = hyperparameters.begin(); it != hyperparameters.end(); ++it)
    out[it.key()] = hyperparameter(it.key());
  return out;
}

Json TrainingJob::create_training_job_request() const {
  Json req = Json::object();
  req["TrainingJobName"] = name;
  req["HyperParameters"] = hyperparameters;
  req["AlgorithmSpecification"] = {{"TrainingImage", image}, {"TrainingInputMode", input_mode}};
  if (!role_arn.empty()) req["RoleArn"] = role_arn;
  Json channels_json = Json::array();
  for (const auto& c : channels) {
    Json ch = Json::object();
    ch["ChannelName"] = c.name;
    ch["DataSource"] = {{"S3DataSource",
                         {{"S3DataType", c.s3_data_type},
                          {"S3Uri", as_uri(c.uri)},
                          {"S3DataDistributionType", c.distribution}}}};
    if (c.content_type) ch["ContentType"] = *c.content_type;
    ch["CompressionType"] = c.compression;
    ch["RecordWrapperType"] = c.record_wrapper;
    if (!c.input_mode.empty()) ch["InputMode"] = c.input_mode;
    channels_json.push_back(ch);
  }
  if (!channels_json.empty()) req["InputDataConfig"] = channels_json;
  req["OutputDataConfig"] = {{"S3OutputPath", as_uri(output_path)}};
  req["ResourceConfig"] = {{"InstanceType", instance_type},
                           {"InstanceCount", instance_count},
                           {"VolumeSizeInGB", volume_size_gb}};
  req["StoppingCondition"] = {{"MaxRuntimeInSeconds", max_runtime_s}};
  if (checkpoint)
    req["CheckpointConfig"] = {{"S3Uri", as_uri(checkpoint->uri)}, {"LocalPath", checkpoint->local_path}};
  if (!environment.empty()) {
    Json env = Json::object();
    for (auto it = environment.begin(); it != environment.end(); ++it)
      env[it.key()] = is_secret_env_name(it.key()) ? Json("<redacted>") : it.value();
    req["Environment"] = env;
  }
  return req;
}

}  // namespace smplocal
