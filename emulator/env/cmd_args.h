#pragma once
// Entry command: TK's mapping.to_cmd_args (hyperparameters → argv) and the command it builds
// for the user's entry point (contract §2.5, §4.2) — as an argv vector, never a shell string.

#include <string>
#include <vector>

#include "libsmp/core/json.h"

namespace smplocal {

using smp::core::Json;

// mapping.to_cmd_args: keys sorted, `--key` (or `-k`), str(value), dicts as k=v,... sorted.
std::vector<std::string> to_cmd_args(const Json& user_hyperparameters);

enum class EntryKind { kPythonScript, kPythonPackage, kShellScript, kExecutable };

// _entry_point_type.get: a setup.py in the code dir makes a package; .py a script; .sh a shell
// script; anything else a command.
EntryKind entry_kind(const std::string& entry_point, bool code_has_setup_py);

// How the user program is started on each rank/host (cwd = the code dir).
struct EntryCommandInput {
  std::string entry_point;        // relative to the code dir
  EntryKind kind = EntryKind::kPythonScript;
  std::string python = "python3";
  bool mpi = false;
  bool mpi4py_available = false;  // `<python> -m mpi4py` only when mpi4py is importable
  std::vector<std::string> user_args;
};
std::vector<std::string> entry_command(const EntryCommandInput& in);

// Where SageMaker's PyTorch container would run this command through /bin/sh without quoting
// (TK process.run_async), args with whitespace or shell syntax get re-split or interpreted.
// Returns the offending arguments so pre-flight can warn.
std::vector<std::string> shell_unsafe_args(const std::vector<std::string>& args);

}  // namespace smplocal
