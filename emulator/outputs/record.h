#pragma once
// JobRecord: the job's DescribeTrainingJob-shaped record (status, secondary status transitions
// with times, FailureReason, ModelArtifacts, ...), saved to record.json as the job goes on.

#include <filesystem>
#include <optional>
#include <string>

#include "emulator/common/clock.h"
#include "emulator/spec/job.h"

namespace smplocal {

class JobRecord {
 public:
  JobRecord(const TrainingJob& job, std::filesystem::path file, SystemTime created);

  // Moves to a new secondary status (ending the previous transition); save() writes it. `primary`
  // is the TrainingJobStatus: InProgress, Completed, Failed, Stopping, Stopped.
  void transition(const std::string& primary, const std::string& secondary, const std::string& message,
                  SystemTime at);
  void set_failure_reason(const std::string& reason);
  void set_model_artifacts(const std::string& uri);
  void set_training_times(SystemTime start, SystemTime end);
  // smp-local's own facts (job dir, hosts, argv, exit code, cost, timeline...) under "SmpLocal".
  void set_local(const std::string& key, const Json& value);
  void save() const;
  std::string text() const;  // what save() writes

  const Json& json() const { return record_; }
  std::string status() const { return record_.at("TrainingJobStatus").get<std::string>(); }

  static Json load(const std::filesystem::path& file);

 private:
  Json record_;
  std::filesystem::path file_;
};

// "2024-05-01 12:00:00 Starting - Starting the training job" (SDK secondary_training_status_message).
std::string status_line(SystemTime at, const std::string& secondary, const std::string& message);

}  // namespace smplocal
