#include "emulator/spec/distribution.h"

#include <fstream>
#include <sstream>

#include "libsmp/core/config.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

const char* kField = "distribution";

using smp::core::py_truthy;

// dict.get(key, {}).get("enabled", False) with Python truthiness.
bool enabled(const Json& dist, const char* key) {
  if (!dist.is_object() || !dist.contains(key) || !dist.at(key).is_object()) return false;
  const Json& sub = dist.at(key);
  return sub.contains("enabled") && py_truthy(sub.at("enabled"));
}

bool is_gpu_type(const std::string& t) {
  return t.rfind("ml.p", 0) == 0 || t.rfind("ml.g", 0) == 0 || t == "local_gpu";
}

// fw_utils.parse_mp_parameters: a dict, or a path to an existing JSON file.
Json parse_mp_parameters(const Json& params, const std::filesystem::path& spec_dir,
                         Problems& problems, const std::string& field) {
  if (params.is_object()) return params;
  if (params.is_string()) {
    std::filesystem::path p = params.get<std::string>();
    if (p.is_relative()) p = spec_dir / p;
    if (std::filesystem::exists(p)) {
      std::ifstream in(p);
      std::stringstream ss;
      ss << in.rdbuf();
      Json parsed = Json::parse(ss.str(), nullptr, false);
      if (parsed.is_discarded()) {
        problems.push_back(error_problem(field, "Cannot parse " + params.get<std::string>() + " as a json file."));
        return Json::object();
      }
      return parsed;
    }
  }
  problems.push_back(error_problem(
      field, "Expected a string path to an existing modelparallel config, or a dictionary. Received: " +
                 smp::core::py_str(params) + "."));
  return Json::object();
}

void validate_smdistributed(const DistributionInput& in, const Json& dist, Problems& problems) {
  if (!dist.contains("smdistributed")) return;
  const Json& smd = dist.at("smdistributed");
  std::string field = std::string(kField) + ".smdistributed";
  if (!smd.is_object()) {
    problems.push_back(error_problem(field, "smdistributed strategy requires a dictionary"));
    return;
  }
  if (smd.size() > 1) {
    problems.push_back(error_problem(
        field, "Cannot use more than 1 smdistributed strategy. \nChoose one of the following "
               "supported strategies:['dataparallel', 'modelparallel']",
        "Use either \"modelparallel\" or \"dataparallel\", not both."));
  }
  for (auto it = smd.begin(); it != smd.end(); ++it) {
    if (it.key() != "dataparallel" && it.key() != "modelparallel")
      problems.push_back(error_problem(field + "." + it.key(),
                                       "Invalid smdistributed strategy provided: " + it.key() +
                                           " \nSupported strategies: ['dataparallel', 'modelparallel']"));
  }
  if (enabled(smd, "dataparallel")) {
    if (in.instance_type.empty())
      problems.push_back(error_problem("instance_type", "Please specify an instance_type for smdataparallel.\n"));
    if (in.image_uri.empty() && in.py_version.find("py3") == std::string::npos)
      problems.push_back(error_problem(
          "py_version", "Provided py_version " + in.py_version +
                            " is not supported by smdataparallel.\nPlease specify py_version>=py3"));
  }
}

void validate_torch_distributed(const DistributionInput& in, Problems& problems) {
  const std::string field = std::string(kField) + ".torch_distributed";
  if (in.image_uri.empty() && in.py_version.find("py3") == std::string::npos)
    problems.push_back(error_problem(
        "py_version", "Provided py_version " + in.py_version +
                          " is not supported by torch_distributed.\nPlease specify py_version>=py3\n"));
  bool trainium = in.instance_type.rfind("ml.trn", 0) == 0;
  if (!is_gpu_type(in.instance_type) && !trainium)
    problems.push_back(error_problem(
        field, "Currently torch_distributed is supported only for GPU and Trainium instances.\n"));
  if (in.entry_point.size() < 3 || in.entry_point.substr(in.entry_point.size() - 3) != ".py")
    problems.push_back(error_problem(
        "entry_point", "Unsupported entry point type for the distribution torch_distributed.\n"
                       "Only python programs (*.py) are supported."));
}

}  // namespace

Json distribution_hyperparameters(const DistributionInput& in, Problems& problems) {
  Json out = Json::object();
  const Json& dist = in.distribution;
  if (dist.is_null()) return out;
  if (!dist.is_object()) {
    problems.push_back(error_problem(kField, "distribution must be a dictionary, got " + dist.dump() + "."));
    return out;
  }

  // PyTorch estimator __init__.
  if (dist.contains("pytorchddp") && dist.contains("smdistributed"))
    problems.push_back(error_problem(
        kField, "Cannot use both pytorchddp and smdistributed distribution options together.",
        "Keep one of them."));
  if (enabled(dist, "pytorchxla"))
    problems.push_back(error_problem(
        std::string(kField) + ".pytorchxla",
        "Distributed training through PyTorch XLA is currently only supported when SageMaker "
        "Training Compiler is enabled. To learn more, see Enable SageMaker Training Compiler at "
        "https://docs.aws.amazon.com/sagemaker/latest/dg/training-compiler-enable.html."));
  if (dist.contains("instance_groups"))
    problems.push_back(error_problem(std::string(kField) + ".instance_groups",
                                     "Instance groups not specified in the estimator !"));

  Json effective = dist;
  // Since SDK v2.221.1 the PyTorch constructor rewrites pytorchddp into smdistributed.dataparallel.
  if (enabled(dist, "pytorchddp") && !dist.contains("smdistributed")) {
    effective.erase("pytorchddp");
    effective["smdistributed"] = {{"dataparallel", {{"enabled", true}}}};
  }
  validate_smdistributed(in, effective, problems);

  if (enabled(effective, "torch_distributed")) {
    validate_torch_distributed(in, problems);
    out["sagemaker_torch_distributed_enabled"] = true;
    out["sagemaker_instance_type"] = in.instance_type;
    if (!effective.contains("smdistributed")) return out;
  }

  // Framework._distribution_configuration (generic keys).
  if (enabled(effective, "pytorchxla")) out["sagemaker_pytorch_xla_multi_worker_enabled"] = true;
  if (enabled(effective, "parameter_server")) out["sagemaker_parameter_server_enabled"] = true;
  if (effective.contains("mpi")) {
    const Json& mpi = effective.at("mpi");
    Json mpi_obj = mpi.is_object() ? mpi : Json::object();
    out["sagemaker_mpi_enabled"] = mpi_obj.contains("enabled") ? mpi_obj.at("enabled") : Json(false);
    if (mpi_obj.contains("processes_per_host") && py_truthy(mpi_obj.at("processes_per_host"))) {
      const Json& ppn = mpi_obj.at("processes_per_host");
      if (!ppn.is_number_integer() || ppn.get<int64_t>() < 1)
        problems.push_back(error_problem(std::string(kField) + ".mpi.processes_per_host",
                                         "processes_per_host must be a positive integer, got " + ppn.dump() + "."));
      out["sagemaker_mpi_num_of_processes_per_host"] = ppn;
    }
    out["sagemaker_mpi_custom_mpi_options"] =
        mpi_obj.contains("custom_mpi_options") ? mpi_obj.at("custom_mpi_options") : Json("");
  }
  if (effective.contains("smdistributed") && effective.at("smdistributed").is_object()) {
    const Json& smd = effective.at("smdistributed");
    bool torch_distributed = enabled(effective, "torch_distributed");
    if (!torch_distributed && in.image_uri.find("2.0.1-gpu-py310-cu121") != std::string::npos)
      problems.push_back(error_problem(
          "image_uri", "SMDistributed is currently incompatible with DLC image: " + in.image_uri +
                           ". (Could be due to CUDA version being greater than 11.)"));
    if (!torch_distributed && in.instance_type == "ml.p5.48xlarge")
      problems.push_back(error_problem(
          "instance_type", "SMModelParallel and SMDataParallel currently do not support p5 instances.",
          "Use ml.p4d.24xlarge, or torch_distributed with SMP v2."));
    bool dp = enabled(smd, "dataparallel");
    if (enabled(smd, "modelparallel")) {
      std::string field = std::string(kField) + ".smdistributed.modelparallel.parameters";
      const Json& mp = smd.at("modelparallel");
      Json params = parse_mp_parameters(mp.contains("parameters") ? mp.at("parameters") : Json::object(),
                                        in.spec_dir, problems, field);
      // `enabled is True` in the SDK: only a real boolean true emits mp_parameters.
      if (mp.at("enabled").is_boolean()) {
        for (auto& p : smp::core::sdk_validate_mp_parameters(params, field)) problems.push_back(p);
        out["mp_parameters"] = params;
      }
    }
    out["sagemaker_distributed_dataparallel_enabled"] = dp;
    out["sagemaker_instance_type"] = in.instance_type;
    if (dp) {
      const Json& dpo = smd.at("dataparallel");
      out["sagemaker_distributed_dataparallel_custom_mpi_options"] =
          dpo.contains("custom_mpi_options") ? dpo.at("custom_mpi_options") : Json("");
    }
  }
  return out;
}

}  // namespace smplocal
