#pragma once
// Console: where a run's human output goes — status lines, tagged rank output, warnings —
// to the terminal (stderr in --json mode, keeping stdout for the JSON document) and to the
// job's log files.

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include "emulator/common/error.h"
#include "emulator/supervise/log_router.h"

namespace smplocal {

class Console {
 public:
  explicit Console(bool json_mode);

  // From now on, also write to <logs>/job.log and <logs>/<host>.log.
  void attach_logs(const std::filesystem::path& logs_dir);
  void status(const std::string& line);   // a status transition line
  void info(const std::string& line);     // "smp-local: ..." notes
  void warn(const std::string& line);
  void rank_line(const LogLine& line);
  // Problems as "error: <field>: <message>\n  fix: <fix>".
  void problems(const Problems& problems);

  bool json_mode() const { return json_; }

 private:
  void emit(const std::string& text, bool to_stderr, const std::string& host);

  bool json_;
  std::mutex mu_;
  std::filesystem::path logs_;
  std::ofstream job_log_;
  std::map<std::string, std::ofstream> host_logs_;
};

}  // namespace smplocal
