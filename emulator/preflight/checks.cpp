#include "emulator/preflight/checks.h"

#include <filesystem>
#include <regex>
#include <set>
#include <system_error>

#include "emulator/catalog/catalog.h"
#include "emulator/common/fs.h"

namespace smplocal {
namespace {

namespace fs = std::filesystem;

std::string field_for(const TrainingJob& job, const std::string& estimator, const std::string& api) {
  return job.format == SpecFormat::kEstimator ? estimator : api;
}

// Symlinks under `root` whose target leaves `root` (they would dangle on SageMaker and could
// expose this machine's files).
std::vector<std::string> escaping_links(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) continue;
    fs::path target = fs::read_symlink(it->path(), ec);
    fs::path resolved = target.is_absolute() ? target : it->path().parent_path() / target;
    if (!is_within(root, resolved.lexically_normal()))
      out.push_back(fs::relative(it->path(), root, ec).string() + " -> " + target.string());
  }
  return out;
}

void check_code(const TrainingJob& job, Problems& problems) {
  if (job.code_source.empty() || job.code_source.rfind("s3://", 0) == 0) return;
  std::string field = field_for(job, "source_dir", "HyperParameters.sagemaker_submit_directory");
  fs::path src = job.code_source;
  std::error_code ec;
  if (!fs::exists(src, ec)) {
    problems.push_back(error_problem(field, "the code location " + src.string() + " does not exist.",
                                     "Fix source_dir/entry_point (relative paths are relative to the spec file)."));
    return;
  }
  if (!fs::is_directory(src, ec)) {
    if (src.filename() != job.entry_point &&
        !(src.extension() == ".gz" && src.stem().extension() == ".tar"))
      problems.push_back(error_problem("entry_point", "the entry point " + src.string() + " is not a file."));
    return;
  }
  fs::path entry = src / job.entry_point;
  if (!is_within(src, entry)) {
    problems.push_back(error_problem("entry_point", "entry_point \"" + job.entry_point + "\" leaves source_dir " +
                                                        src.string() + ".", "Give a path inside source_dir."));
  } else if (!fs::is_regular_file(entry, ec)) {
    problems.push_back(error_problem("entry_point", "entry_point \"" + job.entry_point + "\" was not found in source_dir " +
                                                        src.string() + ".",
                                     "Check the file name; it is relative to source_dir."));
  }
  for (const auto& link : escaping_links(src))
    problems.push_back(error_problem(field, "symlink out of source_dir: " + link +
                                                " (the SDK packs it as a link that dangles on SageMaker).",
                                     "Copy the file into source_dir or remove the link."));
  for (const char* f : {"requirements.txt", "setup.py"})
    if (fs::exists(src / f))
      problems.push_back(warning_problem(field, std::string("source_dir has ") + f +
                                                    ": the training toolkit would pip-install it on SageMaker; "
                                                    "smp-local does not install packages.",
                                         "Install the dependencies on this machine yourself."));
}

void check_channels(const TrainingJob& job, Problems& problems) {
  std::set<std::string> seen;
  for (const auto& c : job.channels) {
    std::string field = field_for(job, "inputs.", "InputDataConfig.") + c.name;
    if (!valid_channel_name(c.name))
      problems.push_back(error_problem(field, "invalid channel name \"" + c.name +
                                                  "\": it must match [A-Za-z0-9.\\-_]+ (at most 64) and not be "
                                                  "\".\" or \"..\".", "Rename the channel."));
    if (!seen.insert(c.name).second)
      problems.push_back(error_problem(field, "channel \"" + c.name + "\" is given twice."));
    std::string mode = c.input_mode.empty() ? job.input_mode : c.input_mode;
    if (mode == "Pipe")
      problems.push_back(error_problem(field, "Pipe input mode is not emulated by smp-local.",
                                       "Use \"File\" (or \"FastFile\") for local runs."));
    else if (mode != "File" && mode != "FastFile")
      problems.push_back(error_problem(field, "TrainingInputMode must be File, FastFile or Pipe, got \"" + mode + "\"."));
    if (c.s3_data_type != "S3Prefix" && c.s3_data_type != "ManifestFile")
      problems.push_back(error_problem(field, "S3DataType " + c.s3_data_type + " is not emulated (S3Prefix and "
                                                                               "ManifestFile are)."));
    if (mode == "FastFile" && c.s3_data_type != "S3Prefix")
      problems.push_back(error_problem(field, "FastFile mode supports only S3Prefix channels."));
    if (c.distribution != "FullyReplicated" && c.distribution != "ShardedByS3Key")
      problems.push_back(error_problem(field, "S3DataDistributionType must be FullyReplicated or ShardedByS3Key, got \"" +
                                                  c.distribution + "\"."));
    if (c.compression == "Gzip" && mode != "Pipe")
      problems.push_back(warning_problem(field, "CompressionType Gzip applies only in Pipe mode; the files are staged as they are."));
    if (!c.is_s3()) {
      if (c.s3_data_type == "ManifestFile")
        problems.push_back(error_problem(field, "a ManifestFile channel must be an s3:// URI."));
      std::error_code ec;
      if (!fs::exists(c.uri, ec))
        problems.push_back(error_problem(field, "Invalid data source: " + c.uri + " does not exist.",
                                         "Fix the path (relative paths are relative to the spec file)."));
    }
  }
}

}  // namespace

bool valid_channel_name(const std::string& name) {
  static const std::regex pattern("^[A-Za-z0-9.\\-_]{1,64}$");
  return std::regex_match(name, pattern) && name != "." && name != "..";
}

Problems check_job(const TrainingJob& job) {
  Problems problems;
  std::string type_field = field_for(job, "instance_type", "ResourceConfig.InstanceType");
  if (!job.instance_type.empty() && !find_instance_type(job.instance_type)) {
    if (job.instance_type == "local" || job.instance_type == "local_gpu")
      problems.push_back(error_problem(type_field, "\"" + job.instance_type + "\" is SDK local mode; smp-local emulates "
                                                                              "a real instance type.",
                                       "Use the type you will train on, e.g. ml.p3.16xlarge."));
    else
      problems.push_back(error_problem(type_field, "unknown instance type \"" + job.instance_type + "\".",
                                       "Known types: " + known_instance_type_names() + "."));
  }
  if (job.instance_count > 64)
    problems.push_back(error_problem(field_for(job, "instance_count", "ResourceConfig.InstanceCount"),
                                     "smp-local emulates at most 64 hosts on one machine."));
  if (job.max_runtime_s > 28 * 24 * 3600)
    problems.push_back(error_problem(field_for(job, "max_run", "StoppingCondition.MaxRuntimeInSeconds"),
                                     "MaxRuntimeInSeconds is at most 2419200 (28 days)."));
  // API constraints on HyperParameters (shapes HyperParameterKey / HyperParameterValue).
  std::string hp_field = field_for(job, "hyperparameters", "HyperParameters");
  if (job.hyperparameters.size() > 100)
    problems.push_back(error_problem(hp_field, "at most 100 hyperparameters are allowed, the job has " +
                                                   std::to_string(job.hyperparameters.size()) + "."));
  for (auto it = job.hyperparameters.begin(); it != job.hyperparameters.end(); ++it) {
    if (it.key().size() > 256)
      problems.push_back(error_problem(hp_field + "." + it.key().substr(0, 32) + "…", "hyperparameter names are at most 256 characters."));
    if (it.value().get_ref<const std::string&>().size() > 2500)
      problems.push_back(error_problem(hp_field + "." + it.key(), "hyperparameter values are at most 2500 characters "
                                                                 "(after JSON encoding), this one has " +
                                                                     std::to_string(it.value().get_ref<const std::string&>().size()) + "."));
  }
  check_channels(job, problems);
  check_code(job, problems);
  if (job.checkpoint) {
    const std::string& lp = job.checkpoint->local_path;
    if (!is_within("/opt/ml", lp) && fs::path(lp).lexically_normal() != "/opt/ml/checkpoints")
      problems.push_back(error_problem(field_for(job, "checkpoint_local_path", "CheckpointConfig.LocalPath"),
                                       "smp-local supports checkpoint paths under /opt/ml only, got \"" + lp + "\".",
                                       "Use the default /opt/ml/checkpoints."));
  }
  return problems;
}

}  // namespace smplocal
