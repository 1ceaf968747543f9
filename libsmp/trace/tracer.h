#pragma once
// Tracer: collects this rank's Chrome-trace spans (steps, forward/backward per microbatch,
// send/recv, allreduce, optimizer) and writes them as libsmp/trace/FORMAT.md specifies:
// <dir>/trace-rank<R>.json, atomically, every `flush_every` steps (at most every 5 s) and at shutdown.

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "libsmp/core/json.h"

namespace smp::trace {

using Json = core::Json;

// Microseconds since the Unix epoch (FORMAT.md: clock "unix_us").
double now_us();

class Tracer {
 public:
  Tracer(std::string dir, int rank, int flush_every, Json metadata);

  // One complete ("ph": "X") span. tid 0 = compute, 1 = communication.
  void span(std::string name, const char* category, double start_us, double end_us, int tid,
            Json args);
  // Called after every step: rewrites the file every `flush_every` steps.
  void step_finished();
  void flush();
  const std::string& path() const { return path_; }

 private:
  std::mutex mutex_;
  std::string dir_, path_;
  int flush_every_;
  int steps_since_flush_ = 0;
  static constexpr std::chrono::seconds kMinFlushInterval{5};
  bool flushed_once_ = false;
  std::chrono::steady_clock::time_point last_flush_;
  bool warned_ = false;  // a failing write is reported once, not every step
  Json metadata_;
  // Events serialized once when recorded: a flush only concatenates them, so rewriting the file
  // after every step stays cheap as the run grows.
  std::vector<std::string> events_;
  int rank_;
};

// RAII span: measures from construction to destruction (or to end()) when a tracer is active.
class Span {
 public:
  Span(Tracer* tracer, std::string name, const char* category, int tid, Json args);
  ~Span() { end(); }
  void end();
  Json& args() { return args_; }

 private:
  Tracer* tracer_;
  std::string name_;
  const char* category_;
  int tid_;
  Json args_;
  double start_;
  bool ended_ = false;
};

}  // namespace smp::trace
