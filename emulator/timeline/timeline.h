#pragma once
// smp-local's pipeline timeline: the one header the rest of the emulator includes. After a job,
// `build_timeline(<job>/trace/ranks, <job>)` merges libsmp's per-rank traces into timeline.json
// (Perfetto / chrome://tracing) and draws timeline.svg; `describe()` is the line to print.

#include <filesystem>
#include <string>

#include "emulator/timeline/merged_trace.h"
#include "emulator/timeline/rank_trace.h"
#include "emulator/timeline/step_stats.h"
#include "emulator/timeline/svg_render.h"

namespace smplocal::timeline {

// Loads <rank_dir>/trace-rank*.json, writes <out_dir>/timeline.json and <out_dir>/timeline.svg
// (last complete step). Throws TimelineError with an actionable message.
TimelineSummary build_timeline(const std::filesystem::path& rank_dir,
                               const std::filesystem::path& out_dir);

// "pipeline bubble 13.2% measured vs 11.1% theoretical (p=2, m=8)".
std::string describe(const TimelineSummary& summary);

}  // namespace smplocal::timeline
