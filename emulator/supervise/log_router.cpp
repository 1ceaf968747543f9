#include "emulator/supervise/log_router.h"

#include <regex>

namespace smplocal {
namespace {

const std::deque<std::string> kEmpty;

void push_tail(std::deque<std::string>& tail, const std::string& text, size_t max) {
  tail.push_back(text);
  while (tail.size() > max) tail.pop_front();
}

}  // namespace

LogRouter::LogRouter(int ppn, Sink sink, size_t tail_lines)
    : ppn_(ppn), sink_(std::move(sink)), tail_lines_(tail_lines) {}

std::string LogRouter::host_of_rank(int rank) const {
  return ppn_ > 0 ? "algo-" + std::to_string(rank / ppn_ + 1) : "";
}

void LogRouter::feed(int source_id, const std::string& host, bool is_stderr, const char* data, size_t size) {
  Partial& p = partial_[source_id];
  p.host = host;
  p.is_stderr = is_stderr;
  std::string& buf = p.buf;
  buf.append(data, size);
  size_t start = 0;
  for (size_t nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n', start)) {
    line(host, is_stderr, buf.substr(start, nl - start));
    start = nl + 1;
  }
  buf.erase(0, start);
  if (buf.size() > (1 << 20)) {  // a runaway line without newline: emit it in pieces
    line(host, is_stderr, buf);
    buf.clear();
  }
}

void LogRouter::flush() {
  for (auto& [id, p] : partial_) {
    if (!p.buf.empty()) line(p.host, p.is_stderr, p.buf);
    p.buf.clear();
  }
}

void LogRouter::line(const std::string& host, bool is_stderr, const std::string& raw) {
  std::string text = raw;
  if (!text.empty() && text.back() == '\r') text.pop_back();
  static const std::regex tagged(R"(^\[(\d+),(\d+)\]<(stdout|stderr|stddiag)>:(.*)$)");
  std::smatch m;
  if (host.empty() && ppn_ > 0 && std::regex_match(text, m, tagged)) {
    int rank = std::stoi(m[2].str());
    std::string stream = m[3].str();
    std::string h = host_of_rank(rank);
    bool err = stream != "stdout";
    std::string payload = m[4].str();
    // Open MPI 4.1 writes the tag of a rank local to mpirun once more before that line's newline.
    std::string own_tag = "[" + m[1].str() + "," + m[2].str() + "]<" + stream + ">:";
    if (payload.size() >= own_tag.size() && payload.compare(payload.size() - own_tag.size(), own_tag.size(), own_tag) == 0)
      payload.erase(payload.size() - own_tag.size());
    if (err) push_tail(rank_tail_[rank], payload, tail_lines_);
    sink_({"[" + m[1].str() + ",mpirank:" + m[2].str() + "," + h + "]<" + stream + ">:" + payload, h, err});
    return;
  }
  if (!host.empty()) {
    if (is_stderr) push_tail(host_tail_[host], text, tail_lines_);
    sink_({"[" + host + "]<" + (is_stderr ? "stderr" : "stdout") + ">:" + text, host, is_stderr});
    return;
  }
  scan_mpirun_report(text);
  if (is_stderr && !text.empty()) push_tail(launcher_tail_, text, tail_lines_);
  sink_({text, "", is_stderr});
}

void LogRouter::scan_mpirun_report(const std::string& text) {
  static const std::regex nonzero(R"(Process name:\s*\[\[\d+,\d+\],(\d+)\])");
  static const std::regex exit_code(R"(Exit code:\s*(-?\d+))");
  static const std::regex on_signal(
      R"(process rank (\d+) with PID \d+ on node (\S+) exited on signal (\d+))");
  std::smatch m;
  if (text.find("exited with non-zero status") != std::string::npos) in_report_ = true;
  if (in_report_ && std::regex_search(text, m, nonzero)) {
    if (!failure_) failure_ = RankFailure{};
    failure_->rank = std::stoi(m[1].str());
    failure_->host = host_of_rank(failure_->rank);
  } else if (in_report_ && failure_ && std::regex_search(text, m, exit_code)) {
    failure_->exit_code = std::stoi(m[1].str());
    in_report_ = false;
  } else if (!failure_ && std::regex_search(text, m, on_signal)) {
    failure_ = RankFailure{std::stoi(m[1].str()), -1, std::stoi(m[3].str()), m[2].str()};
    if (failure_->host.rfind("algo-", 0) != 0) failure_->host = host_of_rank(failure_->rank);
  }
}

const std::deque<std::string>& LogRouter::stderr_tail(int rank) const {
  auto it = rank_tail_.find(rank);
  return it == rank_tail_.end() ? kEmpty : it->second;
}

const std::deque<std::string>& LogRouter::host_stderr_tail(const std::string& host) const {
  auto it = host_tail_.find(host);
  return it == host_tail_.end() ? kEmpty : it->second;
}

}  // namespace smplocal
