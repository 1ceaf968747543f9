#pragma once
// Failure reason: what SageMaker reports when a job fails — the failure file a host wrote (the
// first one, algo-1 first; a user-written file wins) or the training toolkit's
// ExecuteUserScriptError text, which is then written to algo-1's failure file as TK does.

#include <string>
#include <vector>

namespace smplocal {

struct ScriptFailure {
  int exit_code = 1;            // the launcher's exit status (or 128 + signal)
  int rank = -1;                // failing rank from mpirun's report, -1 when unknown
  std::string host;             // its host
  int rank_exit_code = -1;      // that rank's own exit code (-1: killed by a signal)
  int rank_signal = 0;
  std::vector<std::string> stderr_tail;
  std::vector<std::string> command;
};

// 'ExecuteUserScriptError:\nExitCode N\nErrorMessage "..."\nExtraInfo "..."\nCommand "..."'
std::string execute_user_script_error(const ScriptFailure& f);

}  // namespace smplocal
