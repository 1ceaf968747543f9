#pragma once
// Clock: wall-clock helpers in the formats SageMaker uses (job-name stamps, ISO times).

#include <chrono>
#include <string>

namespace smplocal {

using SystemTime = std::chrono::system_clock::time_point;

// "2024-05-01-12-00-00-123" (UTC), as the SDK's name_from_base appends to a base job name.
std::string job_name_timestamp(SystemTime t);
// "2024-05-01T12:00:00.123000+00:00", the form `aws sagemaker describe-training-job` prints.
std::string iso_utc(SystemTime t);
// "Mon, 01 May 2024 12:00:00" style is not needed; status lines use "2024-05-01 12:00:00".
std::string log_time_utc(SystemTime t);

}  // namespace smplocal
