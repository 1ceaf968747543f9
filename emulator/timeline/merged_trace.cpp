// Merging per-rank traces into one Chrome-trace document.
#include "emulator/timeline/merged_trace.h"

#include <limits>

#include "emulator/timeline/output_file.h"

namespace smplocal::timeline {

using smp::core::Json;

double earliest_ts(const std::vector<RankTrace>& traces) {
  double t0 = std::numeric_limits<double>::infinity();
  for (const auto& t : traces)
    for (const auto& ev : t.events)
      if (ev.raw.contains("ts")) t0 = std::min(t0, ev.ts);
  return t0 == std::numeric_limits<double>::infinity() ? 0.0 : t0;
}

namespace {

Json metadata_event(const char* name, int pid, int tid, Json args) {
  Json ev;
  ev["name"] = name;
  ev["ph"] = "M";
  ev["pid"] = pid;
  ev["tid"] = tid;
  ev["args"] = std::move(args);
  return ev;
}

}  // namespace

Json merge_traces(const std::vector<RankTrace>& traces) {
  const double t0 = earliest_ts(traces);
  Json events = Json::array();

  // Metadata first so viewers name and order the processes before drawing them.
  const auto lanes = lane_order(traces);
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    const RankTrace& t = *lanes[i];
    events.push_back(metadata_event("process_name", t.rank, 0, Json{{"name", t.label()}}));
    events.push_back(
        metadata_event("process_sort_index", t.rank, 0, Json{{"sort_index", static_cast<int>(i)}}));
    events.push_back(metadata_event("process_labels", t.rank, 0,
                                    Json{{"labels", "rank " + std::to_string(t.rank)}}));
    events.push_back(metadata_event("thread_name", t.rank, 0, Json{{"name", "compute"}}));
    events.push_back(metadata_event("thread_name", t.rank, 1, Json{{"name", "communication"}}));
  }

  for (const RankTrace& t : traces) {
    for (const TraceEvent& ev : t.events) {
      Json out = ev.raw;
      out["pid"] = t.rank;
      if (out.contains("ts")) out["ts"] = ev.ts - t0;
      events.push_back(std::move(out));
    }
  }

  Json ranks = Json::array();
  for (const RankTrace& t : traces)
    ranks.push_back(Json{{"rank", t.rank},
                         {"host", t.host},
                         {"pp_rank", t.pp_rank},
                         {"dp_rank", t.dp_rank},
                         {"tp_rank", t.tp_rank},
                         {"file", t.file.filename().string()}});

  Json doc;
  doc["displayTimeUnit"] = "ms";
  doc["metadata"] = Json{{"format", "smp-local-timeline/1"},
                         {"clock_origin_unix_us", t0},
                         {"pp_size", traces.empty() ? 0 : traces.front().pp_size},
                         {"microbatches", traces.empty() ? 0 : traces.front().microbatches},
                         {"pipeline", traces.empty() ? std::string() : traces.front().pipeline},
                         {"ranks", std::move(ranks)}};
  doc["traceEvents"] = std::move(events);
  return doc;
}

std::string merged_trace_text(const std::vector<RankTrace>& traces) {
  // One event per line: small diffs, greppable, and still one JSON document.
  Json doc = merge_traces(traces);
  Json events = std::move(doc["traceEvents"]);
  doc.erase("traceEvents");
  std::string text = doc.dump();
  text.pop_back();  // reopen the object to append traceEvents last
  text += ",\"traceEvents\":[\n";
  for (std::size_t i = 0; i < events.size(); ++i) {
    text += events[i].dump();
    text += i + 1 < events.size() ? ",\n" : "\n";
  }
  text += "]}\n";
  return text;
}

void write_merged_trace(const std::vector<RankTrace>& traces, const std::filesystem::path& out) {
  write_file_atomically(out, merged_trace_text(traces));
}

}  // namespace smplocal::timeline
