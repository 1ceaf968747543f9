// Reading and validating libsmp's per-rank trace files (libsmp/trace/FORMAT.md).
#include "emulator/timeline/rank_trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace smplocal::timeline {
namespace {

using smp::core::Json;
namespace fs = std::filesystem;

// What a user can do about any malformed file; appended to every validation error.
constexpr const char* kFix =
    "expected a libsmp-trace/1 document (libsmp/trace/FORMAT.md); re-run the job with tracing on, "
    "or remove the file from the trace directory";

[[noreturn]] void fail(const fs::path& file, const std::string& where, const std::string& what) {
  std::string msg = file.string() + ": ";
  if (!where.empty()) msg += where + ": ";
  msg += what + " — " + kFix;
  throw TimelineError(msg);
}

std::string event_where(std::size_t index, const Json& ev) {
  std::string where = "traceEvents[" + std::to_string(index) + "]";
  if (ev.is_object() && ev.contains("name") && ev["name"].is_string())
    where += " (\"" + ev["name"].get<std::string>() + "\")";
  return where;
}

// An integer field: JSON integers, or floats with an integral value (some writers emit 3.0).
std::optional<int> as_int(const Json& v) {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 2e9) return static_cast<int>(d);
  }
  return std::nullopt;
}

int require_int(const Json& obj, const char* key, const fs::path& file, const std::string& where,
                int min_value) {
  if (!obj.contains(key)) fail(file, where, std::string(key) + " is missing");
  auto v = as_int(obj[key]);
  if (!v) fail(file, where, std::string(key) + " must be an integer, got " + obj[key].dump());
  if (*v < min_value)
    fail(file, where,
         std::string(key) + " must be >= " + std::to_string(min_value) + ", got " +
             std::to_string(*v));
  return *v;
}

int optional_int(const Json& obj, const char* key, int fallback, const fs::path& file,
                 const std::string& where, int min_value) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  return require_int(obj, key, file, where, min_value);
}

double require_time(const Json& ev, const char* key, const fs::path& file, const std::string& where,
                    bool non_negative) {
  if (!ev.contains(key)) fail(file, where, std::string(key) + " is missing");
  const Json& v = ev[key];
  if (!v.is_number())
    fail(file, where, std::string(key) + " must be a number of microseconds, got " + v.dump());
  double d = v.get<double>();
  if (!std::isfinite(d)) fail(file, where, std::string(key) + " must be finite");
  if (non_negative && d < 0) fail(file, where, std::string(key) + " must be >= 0, got " + v.dump());
  return d;
}

TraceEvent parse_event(const Json& ev, std::size_t index, const fs::path& file) {
  const std::string where = event_where(index, ev);
  if (!ev.is_object()) fail(file, where, "an event must be a JSON object, got " + ev.dump());
  TraceEvent out;
  out.raw = ev;
  if (!ev.contains("ph") || !ev["ph"].is_string())
    fail(file, where, "ph (event phase) must be a string");
  out.ph = ev["ph"].get<std::string>();
  if (ev.contains("name")) {
    if (!ev["name"].is_string()) fail(file, where, "name must be a string");
    out.name = ev["name"].get<std::string>();
  }
  if (ev.contains("cat")) {
    if (!ev["cat"].is_string()) fail(file, where, "cat must be a string");
    out.cat = ev["cat"].get<std::string>();
  }
  if (out.is_span()) {
    out.ts = require_time(ev, "ts", file, where, false);
    out.dur = require_time(ev, "dur", file, where, true);
  } else if (ev.contains("ts")) {
    out.ts = require_time(ev, "ts", file, where, false);
  }
  out.tid = optional_int(ev, "tid", 0, file, where, 0);
  if (ev.contains("args")) {
    const Json& args = ev["args"];
    if (!args.is_object()) fail(file, where, "args must be an object");
    if (args.contains("step")) {
      auto s = as_int(args["step"]);
      if (!s || *s < 0)
        fail(file, where, "args.step must be a non-negative integer, got " + args["step"].dump());
      out.step = s;
    }
    if (args.contains("microbatch")) {
      auto m = as_int(args["microbatch"]);
      if (!m || *m < 0)
        fail(file, where,
             "args.microbatch must be a non-negative integer, got " + args["microbatch"].dump());
      out.microbatch = m;
    }
  }
  // The picture places compute spans by step and microbatch; without them it cannot.
  if (out.is_span() && (out.cat == "forward" || out.cat == "backward")) {
    if (!out.step) fail(file, where, out.cat + " span has no args.step");
    if (!out.microbatch) fail(file, where, out.cat + " span has no args.microbatch");
  }
  if (out.is_span() && out.cat == "step" && !out.step) {
    // "step N" names carry the step when args lack it.
    if (out.name.rfind("step ", 0) == 0) {
      try {
        std::size_t used = 0;
        int s = std::stoi(out.name.substr(5), &used);
        if (used == out.name.size() - 5 && s >= 0) out.step = s;
      } catch (const std::exception&) {
      }
    }
    if (!out.step) fail(file, where, "step span has no args.step");
  }
  return out;
}

// The rank encoded in "trace-rank<R>.json", or nullopt for other names.
std::optional<int> rank_from_filename(const std::string& name) {
  const std::string prefix = "trace-rank", suffix = ".json";
  if (name.size() <= prefix.size() + suffix.size()) return std::nullopt;
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return std::nullopt;
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoi(digits);
}

}  // namespace

std::string RankTrace::label() const {
  return host + " · stage " + std::to_string(pp_rank) + " · dp " + std::to_string(dp_rank);
}

RankTrace parse_rank_trace(const Json& doc, const fs::path& file) {
  if (!doc.is_object())
    fail(file, "", "the document must be a JSON object with metadata and traceEvents");
  if (!doc.contains("metadata") || !doc["metadata"].is_object())
    fail(file, "", "metadata object is missing");
  const Json& md = doc["metadata"];
  const std::string where = "metadata";
  if (!md.contains("format") || !md["format"].is_string())
    fail(file, where, "format is missing (expected \"" + std::string(kTraceFormat) + "\")");
  if (md["format"].get<std::string>() != kTraceFormat)
    fail(file, where,
         "format is " + md["format"].dump() + ", this smp-local reads \"" + kTraceFormat + "\"");
  if (md.contains("clock") && md["clock"] != "unix_us")
    fail(file, where, "clock is " + md["clock"].dump() + ", expected \"unix_us\"");

  RankTrace t;
  t.file = file;
  t.metadata = md;
  t.rank = require_int(md, "rank", file, where, 0);
  if (!md.contains("host") || !md["host"].is_string() || md["host"].get<std::string>().empty())
    fail(file, where, "host must be a non-empty string (the emulated host, e.g. \"algo-1\")");
  t.host = md["host"].get<std::string>();
  t.pp_size = require_int(md, "pp_size", file, where, 1);
  t.pp_rank = require_int(md, "pp_rank", file, where, 0);
  if (t.pp_rank >= t.pp_size)
    fail(file, where,
         "pp_rank " + std::to_string(t.pp_rank) + " is not below pp_size " +
             std::to_string(t.pp_size));
  t.dp_rank = require_int(md, "dp_rank", file, where, 0);
  t.dp_size = optional_int(md, "dp_size", 1, file, where, 1);
  t.tp_rank = optional_int(md, "tp_rank", 0, file, where, 0);
  t.world_size = optional_int(md, "world_size", 0, file, where, 1);
  t.local_rank = optional_int(md, "local_rank", 0, file, where, 0);
  t.microbatches = require_int(md, "microbatches", file, where, 1);
  t.active_microbatches = optional_int(md, "active_microbatches", t.microbatches, file, where, 1);
  if (md.contains("pipeline")) {
    if (!md["pipeline"].is_string())
      fail(file, where, "pipeline must be a string (\"simple\" or \"interleaved\")");
    t.pipeline = md["pipeline"].get<std::string>();
  } else {
    t.pipeline = "interleaved";  // SMP's default schedule
  }

  if (!doc.contains("traceEvents") || !doc["traceEvents"].is_array())
    fail(file, "", "traceEvents array is missing");
  const Json& events = doc["traceEvents"];
  t.events.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    t.events.push_back(parse_event(events[i], i, file));
  return t;
}

RankTrace read_rank_trace(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw TimelineError(file.string() +
                        ": cannot open the trace file — check that it exists and is readable");
  Json doc;
  try {
    doc = Json::parse(in);
  } catch (const Json::parse_error& e) {
    fail(file, "", std::string("not valid JSON (") + e.what() + ")");
  }
  return parse_rank_trace(doc, file);
}

std::vector<RankTrace> load_rank_traces(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw TimelineError(
        dir.string() +
        ": trace directory does not exist — run the job with tracing on (smp-local sets "
        "SMP_TRACE_DIR to <job dir>/trace/ranks) or pass the directory holding trace-rank*.json");
  std::map<int, fs::path> files;  // ordered by rank: deterministic output
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto rank = rank_from_filename(entry.path().filename().string());
    if (rank) files.emplace(*rank, entry.path());
  }
  if (files.empty())
    throw TimelineError(
        dir.string() +
        ": no trace-rank*.json files — was tracing on (SMP_TRACE_DIR) and did the job "
        "reach its first step?");

  std::vector<RankTrace> traces;
  for (const auto& [rank, path] : files) {
    RankTrace t = read_rank_trace(path);
    if (t.rank != rank)
      fail(path, "metadata",
           "rank is " + std::to_string(t.rank) + " but the file name says rank " +
               std::to_string(rank));
    traces.push_back(std::move(t));
  }
  const RankTrace& first = traces.front();
  for (const RankTrace& t : traces) {
    auto mismatch = [&](const std::string& key, const std::string& mine,
                        const std::string& theirs) {
      fail(t.file, "metadata",
           key + " is " + mine + " but " + first.file.filename().string() + " says " + theirs +
               " (all ranks of one job share it; are files of two jobs mixed in " + dir.string() +
               "?)");
    };
    if (t.pp_size != first.pp_size)
      mismatch("pp_size", std::to_string(t.pp_size), std::to_string(first.pp_size));
    if (t.microbatches != first.microbatches)
      mismatch("microbatches", std::to_string(t.microbatches), std::to_string(first.microbatches));
    if (t.pipeline != first.pipeline) mismatch("pipeline", t.pipeline, first.pipeline);
  }
  return traces;
}

std::vector<const RankTrace*> lane_order(const std::vector<RankTrace>& traces) {
  std::vector<const RankTrace*> out;
  for (const auto& t : traces) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [](const RankTrace* a, const RankTrace* b) {
    return std::tie(a->pp_rank, a->dp_rank, a->tp_rank, a->rank) <
           std::tie(b->pp_rank, b->dp_rank, b->tp_rank, b->rank);
  });
  return out;
}

}  // namespace smplocal::timeline
