#pragma once
// RankTrace: one rank's libsmp trace file (libsmp/trace/FORMAT.md), parsed and validated, the
// input of every timeline step (merge, bubble statistics, SVG).

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "libsmp/core/json.h"

namespace smplocal::timeline {

// TimelineError: a user-facing failure (malformed or missing trace input, unknown step); the
// message names the file and says how to fix it.
class TimelineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// TraceEvent: one Chrome-trace event of a rank, with the fields the timeline reads pulled out
// and the original JSON kept so the merged trace loses nothing.
struct TraceEvent {
  std::string name;
  std::string cat;  // step, forward, backward, send, recv, allreduce, optimizer, ... ("" if absent)
  std::string ph;   // "X" for spans; other phases are carried into the merge only
  double ts = 0;    // microseconds since the Unix epoch
  double dur = 0;   // microseconds; 0 for non-span events
  int tid = 0;      // 0 compute, 1 communication
  std::optional<int> step;        // args.step
  std::optional<int> microbatch;  // args.microbatch
  smp::core::Json raw;            // the event exactly as read

  bool is_span() const { return ph == "X"; }
  double end() const { return ts + dur; }
};

// RankTrace: the metadata block of one trace file plus its events, in file order.
struct RankTrace {
  std::filesystem::path file;
  int rank = 0;
  int world_size = 0;
  std::string host;
  int local_rank = 0;
  int pp_rank = 0;
  int pp_size = 1;
  int dp_rank = 0;
  int dp_size = 1;
  int tp_rank = 0;
  int microbatches = 1;
  int active_microbatches = 1;
  std::string pipeline;      // "simple" or "interleaved"
  smp::core::Json metadata;  // the metadata object as read (extra keys preserved)
  std::vector<TraceEvent> events;

  // "algo-1 · stage 0 · dp 0": the lane label of the SVG and the process name of the merge.
  std::string label() const;
};

// The trace format this reader understands (metadata.format).
inline constexpr const char* kTraceFormat = "libsmp-trace/1";

// Parses one trace document; `file` only names the source in error messages.
// Throws TimelineError naming the file and the offending field.
RankTrace parse_rank_trace(const smp::core::Json& doc, const std::filesystem::path& file);

// Reads and parses one trace file. Throws TimelineError (unreadable, not JSON, invalid).
RankTrace read_rank_trace(const std::filesystem::path& file);

// Reads <dir>/trace-rank*.json, validates each file and their mutual consistency (one file per
// rank, same pp_size / microbatches / pipeline everywhere). Returned in ascending rank order.
// Throws TimelineError naming the file on malformed input, or the directory when it holds none.
std::vector<RankTrace> load_rank_traces(const std::filesystem::path& dir);

// Ranks in lane order: by (pp_rank, dp_rank, tp_rank, rank).
std::vector<const RankTrace*> lane_order(const std::vector<RankTrace>& traces);

}  // namespace smplocal::timeline
