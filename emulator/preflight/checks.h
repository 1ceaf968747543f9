#pragma once
// Pre-flight checks of a TrainingJob against the SageMaker API's constraints, the instance
// catalog and this machine's file system (channels, code) — everything that can be known before
// anything is written. The launch-related checks live in make_plan.

#include "emulator/common/error.h"
#include "emulator/spec/job.h"

namespace smplocal {

Problems check_job(const TrainingJob& job);

// A channel name SageMaker accepts and that stays inside /opt/ml/input/data.
bool valid_channel_name(const std::string& name);

}  // namespace smplocal
