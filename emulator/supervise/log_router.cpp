#include "emulator/supervise/log_router.h"

#include <regex>

namespace smplocal {
namespace {

const std::deque<std::string> kEmpty;

void push_tail(std::deque<std::string>& tail, const std::string& text, size_t max) {
  tail.push_back(text);
  while (tail.size() > max) tail.pop_front();
}

const std::regex& tag_pattern() {
  static const std::regex tag(R"(\[(\d+),(\d+)\]<(stdout|stderr|stddiag)>:)");
  return tag;
}

std::string chomp(std::string s) {
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

}  // namespace

LogRouter::LogRouter(int ppn, Sink sink, size_t tail_lines)
    : ppn_(ppn), sink_(std::move(sink)), tail_lines_(tail_lines) {}

std::string LogRouter::host_of_rank(int rank) const {
  return ppn_ > 0 ? "algo-" + std::to_string(rank / ppn_ + 1) : "";
}

void LogRouter::feed(int source_id, const std::string& host, bool is_stderr, const char* data, size_t size) {
  if (host.empty() && ppn_ > 0) {
    auto& [state, err] = tagged_[source_id];
    err = is_stderr;
    state.buf.append(data, size);
    feed_tagged(state, is_stderr, false);
    return;
  }
  Partial& p = partial_[source_id];
  p.host = host;
  p.is_stderr = is_stderr;
  p.buf.append(data, size);
  size_t start = 0;
  for (size_t nl = p.buf.find('\n'); nl != std::string::npos; nl = p.buf.find('\n', start)) {
    plain_line(host, is_stderr, chomp(p.buf.substr(start, nl - start)));
    start = nl + 1;
  }
  p.buf.erase(0, start);
  if (p.buf.size() > (1 << 20)) {  // a runaway line without newline: emit it in pieces
    plain_line(host, is_stderr, p.buf);
    p.buf.clear();
  }
}

void LogRouter::feed_tagged(TaggedSource& s, bool is_stderr, bool at_end) {
  while (!s.buf.empty()) {
    std::smatch m;
    bool found = std::regex_search(s.buf, m, tag_pattern());
    size_t tag_pos = found ? static_cast<size_t>(m.position(0)) : std::string::npos;
    if (found && tag_pos == 0) {
      s.has_owner = true;
      s.job = m[1].str();
      s.rank = std::stoi(m[2].str());
      s.stream = m[3].str();
      s.buf.erase(0, m.length(0));
      continue;
    }
    size_t nl = s.buf.find('\n');
    if (nl != std::string::npos && nl < tag_pos) {
      std::string text = s.buf.substr(0, nl);
      s.buf.erase(0, nl + 1);
      if (s.has_owner) {
        auto key = std::make_pair(s.rank, s.stream);
        std::string line = s.pending[key] + text;
        s.pending.erase(key);
        s.has_owner = false;  // after a newline Open MPI writes a fresh tag, or it is mpirun's own text
        rank_line(s.job, s.rank, s.stream, chomp(line));
      } else {
        std::string line = s.untagged + text;
        s.untagged.clear();
        plain_line("", is_stderr, chomp(line));
      }
      continue;
    }
    // No newline before the next tag (or none at all): a piece of the current line.
    size_t take = found ? tag_pos : s.buf.size();
    if (!found && !at_end) {
      // Keep a possible tag prefix at the end ("[1,1]<std") until more bytes arrive.
      size_t bracket = s.buf.rfind('[');
      if (bracket != std::string::npos && s.buf.size() - bracket < 32) take = bracket;
    }
    if (take == 0) break;
    (s.has_owner ? s.pending[{s.rank, s.stream}] : s.untagged) += s.buf.substr(0, take);
    s.buf.erase(0, take);
  }
  if (at_end) {
    for (auto& [key, text] : s.pending)
      if (!text.empty()) rank_line(s.job, key.first, key.second, chomp(text));
    s.pending.clear();
    if (!s.untagged.empty()) plain_line("", is_stderr, chomp(s.untagged));
    s.untagged.clear();
  }
}

void LogRouter::flush() {
  for (auto& [id, state] : tagged_) feed_tagged(state.first, state.second, true);
  for (auto& [id, p] : partial_) {
    if (!p.buf.empty()) plain_line(p.host, p.is_stderr, chomp(p.buf));
    p.buf.clear();
  }
}

void LogRouter::rank_line(const std::string& job, int rank, const std::string& stream, const std::string& text) {
  std::string h = host_of_rank(rank);
  bool err = stream != "stdout";
  if (err) push_tail(rank_tail_[rank], text, tail_lines_);
  sink_({"[" + job + ",mpirank:" + std::to_string(rank) + "," + h + "]<" + stream + ">:" + text, h, err});
}

void LogRouter::plain_line(const std::string& host, bool is_stderr, const std::string& text) {
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
