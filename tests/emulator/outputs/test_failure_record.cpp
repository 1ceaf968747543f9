// ExecuteUserScriptError text and the DescribeTrainingJob-shaped record.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>

#include "emulator/outputs/failure.h"
#include "emulator/outputs/record.h"
#include "tests/emulator/support.h"

using namespace smplocal;

TEST_CASE("ExecuteUserScriptError names exit code, rank, host and stderr", "[outputs]") {
  ScriptFailure f;
  f.exit_code = 7;
  f.rank = 3;
  f.host = "algo-2";
  f.rank_exit_code = 7;
  f.stderr_tail = {"Traceback", "ValueError: bad", "ValueError: bad"};
  f.command = {"mpirun", "-np", "4", "python3", "t.py"};
  CHECK(execute_user_script_error(f) ==
        "ExecuteUserScriptError:\nExitCode 7\nErrorMessage \"Traceback\nValueError: bad\"\n"
        "ExtraInfo \"rank 3 on algo-2 exited with status 7\"\nCommand \"mpirun -np 4 python3 t.py\"");
  f.rank_signal = 9;
  f.exit_code = 137;
  CHECK(execute_user_script_error(f).find("OutOfMemory: Process killed by SIGKILL (signal 9)") != std::string::npos);
}

TEST_CASE("status transitions, failure reason cut at 1024 characters", "[outputs]") {
  Problems p;
  TrainingJob job = parse_estimator(Json::parse(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge",
      "image_uri": "x", "job_name": "rec", "environment": {"AWS_SECRET_ACCESS_KEY": "hunter2", "MODE": "x"}})"),
                                    {}, test_context("/s"), p);
  auto file = std::filesystem::temp_directory_path() / ("record-" + std::to_string(::getpid()) + ".json");
  auto t0 = test_context("/").now;
  JobRecord r(job, file, t0);
  r.transition("InProgress", "Starting", "Starting the training job", t0);
  r.transition("InProgress", "Training", "Training in progress.", t0 + std::chrono::seconds(2));
  r.set_failure_reason(std::string(3000, 'x'));
  r.transition("Failed", "Failed", "Training job failed", t0 + std::chrono::seconds(5));
  r.save();
  Json j = JobRecord::load(file);
  std::filesystem::remove(file);
  CHECK(j["TrainingJobStatus"] == "Failed");
  CHECK(j["FailureReason"].get<std::string>().size() == 1024);
  auto& tr = j["SecondaryStatusTransitions"];
  REQUIRE(tr.size() == 3);
  CHECK(tr[0]["EndTime"] == tr[1]["StartTime"]);
  CHECK(tr[1]["StartTime"] == "2024-05-01T12:00:02.123000+00:00");
  CHECK(j["Environment"]["AWS_SECRET_ACCESS_KEY"] == "<redacted>");
  CHECK(j.dump().find("hunter2") == std::string::npos);
  CHECK(status_line(t0, "Starting", "Starting the training job") == "2024-05-01 12:00:00 Starting - Starting the training job");
}

TEST_CASE("a failure reason of arbitrary bytes is cut at a character and saved as valid JSON", "[outputs]") {
  Problems p;
  TrainingJob job = parse_estimator(Json::parse(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge",
      "image_uri": "x", "job_name": "rec"})"), {}, test_context("/s"), p);
  auto file = std::filesystem::temp_directory_path() / ("record-utf8-" + std::to_string(::getpid()) + ".json");
  JobRecord r(job, file, test_context("/").now);
  // A rank's stderr: 1023 ASCII bytes, then a two-byte character across the 1024-byte mark and a
  // stray invalid byte — cutting bytes would leave half a character, which JSON cannot hold.
  r.set_failure_reason(std::string(1023, 'x') + "\xC3\xA9 \xFF tail");
  REQUIRE_NOTHROW(r.save());
  Json j = JobRecord::load(file);
  std::filesystem::remove(file);
  CHECK(j["FailureReason"].get<std::string>() == std::string(1023, 'x') + "\xC3\xA9");
}
