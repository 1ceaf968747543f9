#include "emulator/spec/spec.h"

#include <regex>

#include "emulator/common/fs.h"

namespace smplocal {

DetectedFormat detect_format(const Json& spec) {
  if (spec.is_object())
    for (const char* key : {"AlgorithmSpecification", "TrainingJobName", "ResourceConfig"})
      if (spec.contains(key)) return DetectedFormat::kCreateTrainingJob;
  return DetectedFormat::kEstimator;
}

std::string name_from_base(const std::string& base, SystemTime now) {
  std::string ts = job_name_timestamp(now);
  size_t keep = 63 - ts.size() - 1;
  return base.substr(0, std::min(keep, base.size())) + "-" + ts;
}

bool valid_job_name(const std::string& name) {
  static const std::regex pattern("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$");
  return name.size() <= 63 && std::regex_match(name, pattern);
}

TrainingJob load_spec(const std::filesystem::path& file, const SpecOverrides& overrides,
                      const SpecContext& ctx, Problems& problems) {
  std::string text = read_file(file);
  Json spec = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded())
    throw Error(file.string() + " is not valid JSON.", "Check it with `python3 -m json.tool " + file.string() + "`.");
  SpecContext c = ctx;
  if (c.spec_dir.empty()) c.spec_dir = std::filesystem::absolute(file).parent_path();
  TrainingJob job = detect_format(spec) == DetectedFormat::kCreateTrainingJob
                        ? parse_create_training_job(std::move(spec), overrides, c, problems)
                        : parse_estimator(std::move(spec), overrides, c, problems);
  if (!job.name.empty() && !valid_job_name(job.name))
    problems.push_back(error_problem(
        job.format == SpecFormat::kEstimator ? "job_name" : "TrainingJobName",
        "Invalid training job name \"" + job.name +
            "\": it must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (letters, digits, hyphens; at most 63).",
        "Use letters, digits and single hyphens only."));
  return job;
}

}  // namespace smplocal
