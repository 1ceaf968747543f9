// Rendering one analysed step as a self-contained SVG.
#include "emulator/timeline/svg_render.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "emulator/timeline/output_file.h"
#include "emulator/timeline/svg_style.h"

namespace smplocal::timeline {
namespace {

using svg::escape;
using svg::num;

// Layout constants (px) that do not depend on options.
constexpr double kLeft = 250;  // lane labels
constexpr double kRight = 86;  // per-lane idle %
constexpr double kTop = 76;    // title + subtitle
constexpr double kLaneGap = 6;
constexpr double kStageGap = 8;  // extra space between pipeline stages
constexpr double kAxisHeight = 44;
constexpr double kLegendHeight = 34;
constexpr double kCommBar = 4;  // height of communication bars
constexpr double kBoxFont = 11;

std::string percent(double fraction) { return num(fraction * 100.0, 1) + "%"; }

// 1, 2 or 5 × 10^k ms, giving about `target` ticks over `span_ms`.
double nice_tick(double span_ms, int target) {
  if (span_ms <= 0) return 1;
  const double raw = span_ms / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (raw <= f * mag) return f * mag;
  return 10 * mag;
}

int tick_decimals(double tick_ms) {
  return tick_ms >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(tick_ms) - 1e-9));
}

std::string title_text(const TimelineSummary& s) {
  std::string t = "Pipeline timeline · step " + std::to_string(s.step);
  if (!s.complete) t += " (incomplete)";
  t += " · " + (s.schedule.empty() ? std::string("unknown") : s.schedule) +
       " schedule · p=" + std::to_string(s.pp_size) + ", m=" + std::to_string(s.microbatches) +
       " · bubble " + percent(s.measured_bubble) + " measured vs " + percent(s.theoretical_bubble) +
       " theoretical (p−1)/(m+p−1)";
  return t;
}

std::string subtitle_text(const StepAnalysis& a) {
  std::set<std::string> hosts;
  for (const auto& lane : a.lanes) hosts.insert(lane.trace->host);
  std::string host_list;
  for (const auto& h : hosts) host_list += (host_list.empty() ? "" : ", ") + h;
  const auto& s = a.summary;
  return std::to_string(s.ranks) + (s.ranks == 1 ? " rank" : " ranks") + " on " +
         std::to_string(hosts.size()) + (hosts.size() == 1 ? " host (" : " hosts (") + host_list +
         ") · step window " + num(s.window_us / 1000.0, 2) + " ms · " + std::to_string(s.steps) +
         " complete steps traced · idle = 1 − busy / pipeline step window";
}

// One text element; `extra` carries further attributes.
void text(std::string& o, const char* cls, double x, double y, const std::string& body,
          const std::string& extra = "") {
  o += "<text class=\"" + std::string(cls) + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\"" +
       extra + ">" + escape(body) + "</text>\n";
}

void rect(std::string& o, const std::string& cls, double x, double y, double w, double h,
          const std::string& fill, const std::string& extra = "", const std::string& tooltip = "") {
  o += "<rect class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" +
       num(std::max(w, 0.0)) + "\" height=\"" + num(h) + "\" fill=\"" + fill + "\"" + extra;
  if (tooltip.empty()) {
    o += "/>\n";
  } else {
    o += "><title>" + escape(tooltip) + "</title></rect>\n";
  }
}

std::string comm_colour(const std::string& cat) {
  if (cat == "send") return "#2e7d32";
  if (cat == "recv") return "#6a1b9a";
  if (cat == "allreduce") return "#455a64";
  return "#616161";
}

}  // namespace

std::string svg_text(const StepAnalysis& a, const SvgOptions& opt) {
  const TimelineSummary& s = a.summary;
  const double width = std::max(opt.width, 600);
  const double lane_h = std::max(opt.lane_height, 16);
  const double plot_w = width - kLeft - kRight;
  const double span_us = std::max(a.end - a.start, 1e-9);
  const double scale = plot_w / span_us;  // px per µs
  auto x_of = [&](double ts) { return kLeft + (ts - a.start) * scale; };

  // Lane y positions: stages separated by a little extra space.
  std::vector<double> lane_y;
  double y = kTop;
  for (std::size_t i = 0; i < a.lanes.size(); ++i) {
    if (i > 0)
      y += kLaneGap + (a.lanes[i].trace->pp_rank != a.lanes[i - 1].trace->pp_rank ? kStageGap : 0);
    lane_y.push_back(y);
    y += lane_h;
  }
  const double plot_bottom = a.lanes.empty() ? kTop : y;
  const double height = std::ceil(plot_bottom + kAxisHeight + kLegendHeight + 8);

  std::string o;
  o.reserve(4096 + a.lanes.size() * 4096);
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width, 0) +
       "\" height=\"" + num(height, 0) + "\" viewBox=\"0 0 " + num(width, 0) + " " +
       num(height, 0) + "\" font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\" data-step=\"" +
       std::to_string(s.step) + "\" data-pp-size=\"" + std::to_string(s.pp_size) +
       "\" data-microbatches=\"" + std::to_string(s.microbatches) + "\" data-measured-bubble=\"" +
       num(s.measured_bubble, 4) + "\" data-theoretical-bubble=\"" + num(s.theoretical_bubble, 4) +
       "\">\n";
  o += "<title>" + escape(title_text(s)) + "</title>\n";
  o += "<desc>smp-local pipeline timeline: one lane per rank, forward (blue) and backward (orange) "
       "spans per "
       "microbatch, hatched background = idle.</desc>\n";
  o +=
      "<defs>\n<pattern id=\"idle-hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f3f3f3\"/>"
      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d6d6d6\" "
      "stroke-width=\"2\"/></pattern>\n</defs>\n";
  rect(o, "background", 0, 0, width, height, "#ffffff");
  text(o, "title", 16, 26, title_text(s),
       " font-size=\"15\" font-weight=\"bold\" fill=\"#1a1a1a\"");
  text(o, "subtitle", 16, 46, subtitle_text(a), " font-size=\"11\" fill=\"#555555\"");
  text(o, "column-head", kLeft - 10, kTop - 8, "rank · host · stage · replica",
       " font-size=\"10\" fill=\"#777777\" text-anchor=\"end\"");
  text(o, "column-head", width - 10, kTop - 8, "idle",
       " font-size=\"10\" fill=\"#777777\" text-anchor=\"end\"");

  // Grid first so lanes and boxes draw over it; it shows through the gaps between lanes.
  const double tick = nice_tick(span_us / 1000.0, 10);
  const int decimals = tick_decimals(tick);
  o += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (int i = 0;; ++i) {
    const double ms = i * tick;
    if (ms * 1000.0 > span_us * (1 + 1e-9)) break;
    const double x = kLeft + ms * 1000.0 * scale;
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(kTop - 4) + "\" x2=\"" + num(x) + "\" y2=\"" +
         num(plot_bottom + 4) + "\"/>\n";
  }
  o += "</g>\n";

  o += "<g class=\"lanes\">\n";
  for (std::size_t i = 0; i < a.lanes.size(); ++i) {
    const LaneStep& lane = a.lanes[i];
    const RankTrace& t = *lane.trace;
    const StageStats& st = s.stages[i];
    const double ly = lane_y[i];
    o += "<g class=\"lane\" id=\"lane-rank-" + std::to_string(t.rank) + "\" data-rank=\"" +
         std::to_string(t.rank) + "\" data-pp=\"" + std::to_string(t.pp_rank) + "\" data-dp=\"" +
         std::to_string(t.dp_rank) + "\" data-host=\"" + escape(t.host) + "\" data-busy-us=\"" +
         num(st.busy_us) + "\" data-span-us=\"" + num(st.span_us) + "\" data-idle=\"" +
         num(st.idle_fraction, 4) + "\">\n";
    text(o, "lane-rank", 12, ly + lane_h / 2 + 4, "rank " + std::to_string(t.rank),
         " font-size=\"10\" fill=\"#888888\"");
    text(o, "lane-label", kLeft - 10, ly + lane_h / 2 + 4, t.label(),
         " font-size=\"12\" fill=\"#1a1a1a\" text-anchor=\"end\"");
    // The whole plot width is the lane's track; its pipeline window is hatched: idle unless
    // covered.
    rect(o, "lane-track", kLeft, ly, plot_w, lane_h, "#fafafa");
    if (lane.window_end > lane.window_start)
      rect(o, "lane-bg idle", x_of(lane.window_start), ly,
           (lane.window_end - lane.window_start) * scale, lane_h, "url(#idle-hatch)", "",
           "idle " + percent(st.idle_fraction) + " of " + num(st.span_us / 1000.0) + " ms");

    const double box_y = ly + 2, box_h = lane_h - 4 - kCommBar - 2;
    for (const TraceEvent* ev : lane.compute) {
      const bool fwd = ev->cat == "forward";
      const int mb = ev->microbatch.value_or(0);
      const double bx = x_of(ev->ts), bw = std::max(ev->dur * scale, 0.75);
      rect(o, std::string("box ") + (fwd ? "forward" : "backward"), bx, box_y, bw, box_h,
           svg::box_fill(fwd, mb, s.microbatches),
           " data-mb=\"" + std::to_string(mb) + "\" data-step=\"" +
               std::to_string(ev->step.value_or(-1)) + "\" data-dur-us=\"" + num(ev->dur) +
               "\" stroke=\"#ffffff\" stroke-width=\"0.5\"",
           (ev->name.empty() ? std::string(fwd ? "F" : "B") + std::to_string(mb) : ev->name) +
               " · " + num(ev->dur / 1000.0, 3) + " ms");
      // "F3" when it fits, else "3", else nothing.
      const std::string full = std::string(fwd ? "F" : "B") + std::to_string(mb),
                        bare = std::to_string(mb);
      const std::string* label = nullptr;
      if (svg::text_width(full, kBoxFont) + 4 <= bw)
        label = &full;
      else if (svg::text_width(bare, kBoxFont) + 3 <= bw)
        label = &bare;
      if (label)
        text(o, "box-label", bx + bw / 2, box_y + box_h / 2 + kBoxFont * 0.36, *label,
             " font-size=\"" + num(kBoxFont, 0) + "\" fill=\"" +
                 svg::box_text_fill(fwd, mb, s.microbatches) +
                 "\" text-anchor=\"middle\" data-mb=\"" + std::to_string(mb) + "\"");
    }
    for (const TraceEvent* ev : lane.comm) {
      const double cx = std::max(x_of(ev->ts), kLeft),
                   cend = std::min(x_of(ev->end()), kLeft + plot_w);
      if (cend <= cx) continue;
      rect(o, "comm " + escape(ev->cat.empty() ? std::string("other") : ev->cat), cx,
           ly + lane_h - kCommBar - 1, std::max(cend - cx, 0.75), kCommBar, comm_colour(ev->cat),
           "", ev->name + " · " + num(ev->dur / 1000.0, 3) + " ms");
    }
    text(o, "lane-idle", width - 10, ly + lane_h / 2 + 4, percent(st.idle_fraction),
         " font-size=\"12\" fill=\"#444444\" text-anchor=\"end\"");
    o += "</g>\n";
  }
  o += "</g>\n";

  // Time axis in ms from the start of the step window.
  const double ay = plot_bottom + 8;
  o += "<g class=\"axis\" font-size=\"10\" fill=\"#444444\">\n";
  o += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(ay) + "\" x2=\"" + num(kLeft + plot_w) +
       "\" y2=\"" + num(ay) + "\" stroke=\"#444444\" stroke-width=\"1\"/>\n";
  for (int i = 0;; ++i) {
    const double ms = i * tick;
    if (ms * 1000.0 > span_us * (1 + 1e-9)) break;
    const double x = kLeft + ms * 1000.0 * scale;
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(ay) + "\" x2=\"" + num(x) + "\" y2=\"" +
         num(ay + 4) + "\" stroke=\"#444444\"/>\n";
    text(o, "tick", x, ay + 15, num(ms, decimals), " text-anchor=\"middle\"");
  }
  text(o, "axis-label", kLeft + plot_w / 2, ay + 30,
       "time (ms) since the start of step " + std::to_string(s.step),
       " text-anchor=\"middle\" font-size=\"11\"");
  o += "</g>\n";

  // Legend.
  const double gy = ay + 38;
  double gx = kLeft;
  o += "<g class=\"legend\" font-size=\"11\" fill=\"#333333\">\n";
  auto swatches = [&](bool fwd, const char* cls) {
    const int shown = std::min(s.microbatches, 4);
    for (int k = 0; k < shown; ++k) {
      const int mb = shown > 1 ? k * (s.microbatches - 1) / (shown - 1) : 0;
      rect(o, std::string("legend-swatch ") + cls, gx + k * 9, gy, 9, 12,
           svg::box_fill(fwd, mb, s.microbatches));
    }
    gx += shown * 9 + 6;
  };
  swatches(true, "forward");
  text(o, "legend-label", gx, gy + 10, "forward F<mb>");
  gx += 110;
  swatches(false, "backward");
  text(o, "legend-label", gx, gy + 10, "backward B<mb>");
  gx += 120;
  rect(o, "legend-swatch idle", gx, gy, 24, 12, "url(#idle-hatch)",
       " stroke=\"#cccccc\" stroke-width=\"0.5\"");
  text(o, "legend-label", gx + 30, gy + 10, "idle (bubble)");
  gx += 120;
  rect(o, "legend-swatch comm", gx, gy + 4, 24, kCommBar, comm_colour("send"));
  rect(o, "legend-swatch comm", gx + 24, gy + 4, 24, kCommBar, comm_colour("recv"));
  text(o, "legend-label", gx + 54, gy + 10, "send / recv");
  gx += 140;
  rect(o, "legend-swatch comm", gx, gy + 4, 24, kCommBar, comm_colour("allreduce"));
  text(o, "legend-label", gx + 30, gy + 10, "allreduce / other communication");
  o += "</g>\n";
  o += "</svg>\n";
  return o;
}

TimelineSummary render_svg(const std::vector<RankTrace>& traces, const std::filesystem::path& out,
                           std::optional<int> step, const SvgOptions& options) {
  StepAnalysis a = analyze_step(traces, step);
  write_file_atomically(out, svg_text(a, options));
  return a.summary;
}

TimelineSummary render_svg(const std::vector<RankTrace>& traces, const std::filesystem::path& out,
                           std::optional<int> step) {
  return render_svg(traces, out, step, SvgOptions{});
}

}  // namespace smplocal::timeline
