#include "emulator/outputs/record.h"

#include "emulator/common/error.h"
#include "emulator/common/fs.h"
#include "emulator/common/text.h"

namespace smplocal {

JobRecord::JobRecord(const TrainingJob& job, std::filesystem::path file, SystemTime created)
    : file_(std::move(file)) {
  Json req = job.create_training_job_request();
  record_ = Json::object();
  record_["TrainingJobName"] = job.name;
  record_["TrainingJobArn"] = "arn:aws:sagemaker:" + job.region + ":000000000000:training-job/" + job.name;
  record_["TrainingJobStatus"] = "InProgress";
  record_["SecondaryStatus"] = "Starting";
  for (const char* key : {"HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig",
                          "OutputDataConfig", "ResourceConfig", "StoppingCondition", "CheckpointConfig",
                          "Environment"})
    if (req.contains(key)) record_[key] = req.at(key);
  record_["CreationTime"] = iso_utc(created);
  record_["LastModifiedTime"] = iso_utc(created);
  record_["SecondaryStatusTransitions"] = Json::array();
}

void JobRecord::transition(const std::string& primary, const std::string& secondary, const std::string& message,
                           SystemTime at) {
  auto& transitions = record_["SecondaryStatusTransitions"];
  if (!transitions.empty() && !transitions.back().contains("EndTime")) transitions.back()["EndTime"] = iso_utc(at);
  transitions.push_back({{"Status", secondary}, {"StartTime", iso_utc(at)}, {"StatusMessage", message}});
  // Terminal statuses have no open interval.
  if (secondary == "Completed" || secondary == "Failed" || secondary == "Stopped" || secondary == "MaxRuntimeExceeded")
    transitions.back()["EndTime"] = iso_utc(at);
  record_["TrainingJobStatus"] = primary;
  record_["SecondaryStatus"] = secondary;
  record_["LastModifiedTime"] = iso_utc(at);
}

// SageMaker keeps the first 1024 characters; rank output may hold any bytes, JSON needs UTF-8.
void JobRecord::set_failure_reason(const std::string& reason) { record_["FailureReason"] = utf8_prefix(reason, 1024); }

void JobRecord::set_model_artifacts(const std::string& uri) {
  record_["ModelArtifacts"] = {{"S3ModelArtifacts", uri}};
}

void JobRecord::set_training_times(SystemTime start, SystemTime end) {
  record_["TrainingStartTime"] = iso_utc(start);
  record_["TrainingEndTime"] = iso_utc(end);
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(end - start).count();
  record_["TrainingTimeInSeconds"] = std::max<long long>(1, secs);
  record_["BillableTimeInSeconds"] = std::max<long long>(1, secs);
}

void JobRecord::set_local(const std::string& key, const Json& value) {
  if (!record_.contains("SmpLocal")) record_["SmpLocal"] = Json::object();
  record_["SmpLocal"][key] = value;
}

void JobRecord::save() const { write_file_atomic(file_, text()); }

std::string JobRecord::text() const { return json_text(record_) + "\n"; }

Json JobRecord::load(const std::filesystem::path& file) {
  Json j = Json::parse(read_file(file), nullptr, false);
  if (j.is_discarded()) throw Error(file.string() + " is not a valid job record.");
  return j;
}

std::string status_line(SystemTime at, const std::string& secondary, const std::string& message) {
  return log_time_utc(at) + " " + secondary + " - " + message;
}

}  // namespace smplocal
