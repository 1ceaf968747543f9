#pragma once
// The pipeline picture: a self-contained SVG of one training step, one lane per rank, one box per
// forward/backward span, idle time as hatched lane background, a ms axis, a legend and a title
// with the measured and theoretical bubble.
//
// Structure (stable, asserted by tests): <text class="title">, <g class="lane" data-rank=..
// data-pp=.. data-dp=.. data-host=..> per rank in (pp_rank, dp_rank) order holding
// <text class="lane-label">, <rect class="lane-bg idle">, <rect class="box forward|backward"
// data-mb=.. data-step=..>, optional <text class="box-label">, <rect class="comm <cat>">;
// then <g class="axis"> and <g class="legend">.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "emulator/timeline/rank_trace.h"
#include "emulator/timeline/step_stats.h"

namespace smplocal::timeline {

// SvgOptions: picture geometry; the defaults fit a README and a laptop screen.
struct SvgOptions {
  int width = 1200;      // px, whole picture
  int lane_height = 30;  // px per rank
};

// The SVG document of an analysed step.
std::string svg_text(const StepAnalysis& analysis, const SvgOptions& options = {});

// Renders one step (default: the last complete one) to `out`; returns its summary.
// Throws TimelineError (absent step, no data, unwritable output).
TimelineSummary render_svg(const std::vector<RankTrace>& traces, const std::filesystem::path& out,
                           std::optional<int> step = {});
TimelineSummary render_svg(const std::vector<RankTrace>& traces, const std::filesystem::path& out,
                           std::optional<int> step, const SvgOptions& options);

}  // namespace smplocal::timeline
