#pragma once
// LogRouter: turns the byte streams of mpirun (or of per-host processes) into lines tagged as
// SageMaker tags them — `[1,mpirank:N,algo-K]<stdout>:text`, K = N // processes_per_host + 1 —
// keeps each rank's last stderr lines, and picks the failing rank out of mpirun's report.

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smplocal {

// One output line after tagging.
struct LogLine {
  std::string text;     // the full tagged line, no newline
  std::string host;     // "algo-K", or empty for launcher/job lines
  bool is_stderr = false;
};

// mpirun's account of the first process that failed.
struct RankFailure {
  int rank = -1;
  int exit_code = -1;   // -1 when it died on a signal
  int signal = 0;
  std::string host;     // node name as mpirun printed it, or derived from the rank
};

class LogRouter {
 public:
  using Sink = std::function<void(const LogLine&)>;
  // processes_per_host: mpirun's slot count per host; 0 for the per-host process runner.
  LogRouter(int processes_per_host, Sink sink, size_t tail_lines = 20);

  // Feeds bytes from a source. For mpirun sources `host` is empty (lines carry rank tags); for
  // per-host processes it names the host.
  void feed(int source_id, const std::string& host, bool is_stderr, const char* data, size_t size);
  void flush();  // emits unterminated last lines

  const std::deque<std::string>& stderr_tail(int rank) const;
  const std::deque<std::string>& host_stderr_tail(const std::string& host) const;
  // Untagged stderr lines of the launcher itself (mpirun, the host agent).
  const std::deque<std::string>& launcher_stderr_tail() const { return launcher_tail_; }
  std::optional<RankFailure> failure() const { return failure_; }
  std::string host_of_rank(int rank) const;

 private:
  // mpirun --tag-output text: Open MPI 4.1 tags every chunk a rank writes, so chunks of
  // different ranks interleave inside one physical line; rebuild each rank's lines from them.
  struct TaggedSource {
    std::string buf;                        // bytes not parsed yet
    bool has_owner = false;                 // the chunk being read belongs to a rank
    std::string job, stream;
    int rank = 0;
    std::map<std::pair<int, std::string>, std::string> pending;  // (rank, stream) -> partial line
    std::string untagged;                   // partial line of mpirun's own output
  };
  void feed_tagged(TaggedSource& s, bool is_stderr, bool at_end);
  void rank_line(const std::string& job, int rank, const std::string& stream, const std::string& text);
  void plain_line(const std::string& host, bool is_stderr, const std::string& text);
  void scan_mpirun_report(const std::string& text);

  int ppn_;
  Sink sink_;
  size_t tail_lines_;
  struct Partial { std::string host; bool is_stderr = false; std::string buf; };
  std::map<int, Partial> partial_;       // per-host sources: unterminated line
  std::map<int, std::pair<TaggedSource, bool>> tagged_;  // mpirun sources (state, is_stderr)
  std::map<int, std::deque<std::string>> rank_tail_;
  std::map<std::string, std::deque<std::string>> host_tail_;
  std::deque<std::string> launcher_tail_;
  std::optional<RankFailure> failure_;
  bool in_report_ = false;
};

}  // namespace smplocal
