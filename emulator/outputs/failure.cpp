#include "emulator/outputs/failure.h"

#include <set>

namespace smplocal {

std::string execute_user_script_error(const ScriptFailure& f) {
  // TK deduplicates the captured stderr lines, keeping their order.
  std::string message;
  std::set<std::string> seen;
  for (const auto& line : f.stderr_tail) {
    if (!seen.insert(line).second) continue;
    if (!message.empty()) message += "\n";
    message += line;
  }
  std::string extra;
  if (f.rank >= 0) {
    extra = "rank " + std::to_string(f.rank) + " on " + f.host +
            (f.rank_signal ? " was killed by signal " + std::to_string(f.rank_signal)
                           : " exited with status " + std::to_string(f.rank_exit_code));
  } else if (!f.host.empty()) {
    extra = "the entry point on " + f.host + " exited with status " + std::to_string(f.exit_code);
  }
  if (f.exit_code == 137 || f.rank_signal == 9)
    extra += std::string(extra.empty() ? "" : "; ") + "OutOfMemory: Process killed by SIGKILL (signal 9)";
  std::string command;
  for (const auto& a : f.command) command += (command.empty() ? "" : " ") + a;
  std::string out = "ExecuteUserScriptError:\nExitCode " + std::to_string(f.exit_code) + "\nErrorMessage \"" +
                    message + "\"";
  if (!extra.empty()) out += "\nExtraInfo \"" + extra + "\"";
  out += "\nCommand \"" + command + "\"";
  return out;
}

}  // namespace smplocal
