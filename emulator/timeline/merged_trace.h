#pragma once
// Merged trace: every rank's events in one Chrome-trace JSON that Perfetto and chrome://tracing
// open as one job (pid = rank, lanes named "algo-1 · stage 0 · dp 0", time starting at 0).

#include <filesystem>
#include <string>
#include <vector>

#include "emulator/timeline/rank_trace.h"
#include "libsmp/core/json.h"

namespace smplocal::timeline {

// The merged document: process_name / process_sort_index / thread_name metadata events first
// (sort index = SVG lane order), then every event of every rank in rank order, pid forced to the
// rank and ts rebased to the earliest timed event; metadata.clock_origin_unix_us keeps the origin.
smp::core::Json merge_traces(const std::vector<RankTrace>& traces);

// merge_traces() as text: the header keys, then one event per line.
std::string merged_trace_text(const std::vector<RankTrace>& traces);

// Writes merged_trace_text() to `out` (creating its directory, atomically via a temp name).
// Throws TimelineError when the file cannot be written.
void write_merged_trace(const std::vector<RankTrace>& traces, const std::filesystem::path& out);

// The earliest ts of any timed event (0 when there is none): the merge's and the SVG's origin.
double earliest_ts(const std::vector<RankTrace>& traces);

}  // namespace smplocal::timeline
