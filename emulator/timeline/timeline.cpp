// The timeline's entry points for smp-local: build both artifacts, describe the result.
#include "emulator/timeline/timeline.h"

#include "emulator/timeline/svg_style.h"

namespace smplocal::timeline {

TimelineSummary build_timeline(const std::filesystem::path& rank_dir,
                               const std::filesystem::path& out_dir) {
  const std::vector<RankTrace> traces = load_rank_traces(rank_dir);
  write_merged_trace(traces, out_dir / "timeline.json");
  return render_svg(traces, out_dir / "timeline.svg");
}

std::string describe(const TimelineSummary& s) {
  return "pipeline bubble " + svg::num(s.measured_bubble * 100.0, 1) + "% measured vs " +
         svg::num(s.theoretical_bubble * 100.0, 1) +
         "% theoretical (p=" + std::to_string(s.pp_size) + ", m=" + std::to_string(s.microbatches) +
         ")";
}

}  // namespace smplocal::timeline
