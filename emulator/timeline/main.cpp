// smp-timeline: builds the timeline artifacts from a directory of libsmp trace files, outside a
// job (for traces copied off a cluster, or to re-render another step).
//   smp-timeline RANK_DIR [OUT_DIR] [--step N]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "emulator/timeline/timeline.h"

namespace {

constexpr const char* kUsage =
    "usage: smp-timeline RANK_DIR [OUT_DIR] [--step N]\n"
    "  Reads RANK_DIR/trace-rank*.json (libsmp traces), writes OUT_DIR/timeline.json (Chrome "
    "trace:\n"
    "  open in https://ui.perfetto.dev or chrome://tracing) and OUT_DIR/timeline.svg (the last "
    "complete\n"
    "  step, or step N). OUT_DIR defaults to RANK_DIR.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace smplocal::timeline;
  std::vector<std::string> positional;
  std::optional<int> step;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--step") {
      if (i + 1 >= argc) {
        std::cerr << "smp-timeline: --step needs a step number\n" << kUsage;
        return 2;
      }
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0) {
        std::cerr << "smp-timeline: --step expects a non-negative integer, got '" << argv[i]
                  << "'\n";
        return 2;
      }
      step = static_cast<int>(v);
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "smp-timeline: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty() || positional.size() > 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::filesystem::path rank_dir = positional[0];
  const std::filesystem::path out_dir = positional.size() == 2 ? positional[1] : positional[0];
  try {
    const auto traces = load_rank_traces(rank_dir);
    write_merged_trace(traces, out_dir / "timeline.json");
    const TimelineSummary summary = render_svg(traces, out_dir / "timeline.svg", step);
    std::cout << describe(summary) << ", step " << summary.step
              << (summary.complete ? "" : " (incomplete)") << "\n"
              << "  merged trace: " << (out_dir / "timeline.json").string() << "\n"
              << "  picture:      " << (out_dir / "timeline.svg").string() << "\n";
  } catch (const TimelineError& e) {
    std::cerr << "smp-timeline: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
