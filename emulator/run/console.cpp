#include "emulator/run/console.h"

#include <cstdio>

namespace smplocal {

Console::Console(bool json_mode) : json_(json_mode) {}

void Console::attach_logs(const std::filesystem::path& logs_dir) {
  std::lock_guard<std::mutex> lock(mu_);
  logs_ = logs_dir;
  std::filesystem::create_directories(logs_);
  job_log_.open(logs_ / "job.log", std::ios::app);
}

void Console::emit(const std::string& text, bool to_stderr, const std::string& host) {
  std::lock_guard<std::mutex> lock(mu_);
  std::FILE* out = (json_ || to_stderr) ? stderr : stdout;
  std::fwrite(text.data(), 1, text.size(), out);
  std::fputc('\n', out);
  std::fflush(out);
  if (job_log_.is_open()) job_log_ << text << '\n' << std::flush;
  if (!host.empty() && !logs_.empty()) {
    auto it = host_logs_.find(host);
    if (it == host_logs_.end()) it = host_logs_.emplace(host, std::ofstream(logs_ / (host + ".log"), std::ios::app)).first;
    it->second << text << '\n' << std::flush;
  }
}

void Console::status(const std::string& line) { emit(line, false, ""); }
void Console::info(const std::string& line) { emit("smp-local: " + line, true, ""); }
void Console::warn(const std::string& line) { emit("smp-local: warning: " + line, true, ""); }
void Console::rank_line(const LogLine& line) { emit(line.text, line.is_stderr, line.host); }

void Console::problems(const Problems& problems) {
  for (const auto& p : problems) {
    std::string text = std::string(p.severity == Severity::kError ? "error: " : "warning: ") + p.field + ": " + p.message;
    if (!p.fix.empty()) text += "\n  fix: " + p.fix;
    emit(text, true, "");
  }
}

}  // namespace smplocal
