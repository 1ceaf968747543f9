#include "emulator/env/cmd_args.h"

#include <algorithm>

#include "libsmp/core/pyjson.h"

namespace smplocal {
namespace {

// mapping._decode: None -> "", everything else str().
std::string decode(const Json& v) { return v.is_null() ? "" : smp::core::py_str(v); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> to_cmd_args(const Json& hps) {
  std::vector<std::string> keys;
  for (auto it = hps.begin(); it != hps.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> out;
  for (const auto& key : keys) {
    out.push_back(key.empty() ? "" : (key.size() > 1 ? "--" : "-") + key);
    const Json& value = hps.at(key);
    if (value.is_object()) {
      std::vector<std::string> sub;
      for (auto it = value.begin(); it != value.end(); ++it) sub.push_back(it.key());
      std::sort(sub.begin(), sub.end());
      std::string joined;
      for (size_t i = 0; i < sub.size(); ++i) {
        if (i) joined += ",";
        joined += sub[i] + "=" + smp::core::py_str(value.at(sub[i]));  // "%s=%s": str(None) is "None"
      }
      out.push_back(joined);
    } else {
      out.push_back(decode(value));
    }
  }
  return out;
}

EntryKind entry_kind(const std::string& entry_point, bool code_has_setup_py) {
  if (code_has_setup_py) return EntryKind::kPythonPackage;
  if (ends_with(entry_point, ".py")) return EntryKind::kPythonScript;
  if (ends_with(entry_point, ".sh")) return EntryKind::kShellScript;
  return EntryKind::kExecutable;
}

std::vector<std::string> entry_command(const EntryCommandInput& in) {
  std::vector<std::string> cmd;
  switch (in.kind) {
    case EntryKind::kPythonScript:
      cmd = {in.python};
      if (in.mpi && in.mpi4py_available) cmd.insert(cmd.end(), {"-m", "mpi4py"});
      cmd.push_back(in.entry_point);
      break;
    case EntryKind::kPythonPackage: {
      std::string module = ends_with(in.entry_point, ".py")
                               ? in.entry_point.substr(0, in.entry_point.size() - 3) : in.entry_point;
      cmd = {in.python};
      if (in.mpi && in.mpi4py_available) cmd.insert(cmd.end(), {"-m", "mpi4py"});
      cmd.insert(cmd.end(), {"-m", module});
      break;
    }
    case EntryKind::kShellScript:
      // TK: /bin/sh -c "./entry args" (after chmod): the script's own shebang chooses the
      // interpreter, and sh runs a script without one. The same here, with the arguments passed
      // as separate argv entries instead of text sh would re-split.
      cmd = {"/bin/sh", "-c", "exec \"$0\" \"$@\"", "./" + in.entry_point};
      break;
    case EntryKind::kExecutable:
      cmd = {"./" + in.entry_point};
      break;
  }
  cmd.insert(cmd.end(), in.user_args.begin(), in.user_args.end());
  return cmd;
}

std::vector<std::string> shell_unsafe_args(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    bool unsafe = a.empty();
    for (char c : a)
      if (std::string(" \t\n'\"\\$`;&|<>()*?[]{}~#!").find(c) != std::string::npos) unsafe = true;
    if (unsafe) out.push_back(a);
  }
  return out;
}

}  // namespace smplocal
