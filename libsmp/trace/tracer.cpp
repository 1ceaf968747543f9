#include "libsmp/trace/tracer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace smp::trace {

double now_us() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double, std::micro>(since_epoch).count();
}

Tracer::Tracer(std::string dir, int rank, int flush_every, Json metadata)
    : dir_(std::move(dir)), flush_every_(flush_every < 1 ? 1 : flush_every),
      metadata_(std::move(metadata)), rank_(rank) {
  path_ = (std::filesystem::path(dir_) / ("trace-rank" + std::to_string(rank) + ".json")).string();
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
}

void Tracer::span(std::string name, const char* category, double start_us, double end_us, int tid,
                  Json args) {
  Json e = Json::object();
  e["name"] = std::move(name);
  e["cat"] = category;
  e["ph"] = "X";
  e["ts"] = start_us;
  e["dur"] = end_us > start_us ? end_us - start_us : 0.0;
  e["pid"] = rank_;
  e["tid"] = tid;
  e["args"] = std::move(args);
  std::string text = e.dump();
  std::lock_guard<std::mutex> lock(mutex_);
  events_.push_back(std::move(text));
}

void Tracer::step_finished() {
  bool flush_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Every `flush_every` steps, but at most every kMinFlushInterval: each flush rewrites the whole
    // file, so flushing every short step would write O(steps^2) bytes over a long job.
    auto now = std::chrono::steady_clock::now();
    flush_now = ++steps_since_flush_ >= flush_every_ &&
                (!flushed_once_ || now - last_flush_ >= kMinFlushInterval);
    if (flush_now) {
      steps_since_flush_ = 0;
      flushed_once_ = true;
      last_flush_ = now;
    }
  }
  if (flush_now) flush();
}

void Tracer::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) {
      if (!warned_)
        std::fprintf(stderr, "[smp] cannot write trace file %s (check SMP_TRACE_DIR); tracing "
                             "continues in memory\n", tmp.c_str());
      warned_ = true;
      return;
    }
    out << "{\"displayTimeUnit\":\"ms\",\"metadata\":" << metadata_.dump() << ",\"traceEvents\":[";
    for (size_t i = 0; i < events_.size(); ++i) out << (i ? ",\n" : "\n") << events_[i];
    out << "\n]}\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  if (ec)
    std::fprintf(stderr, "[smp] cannot rename trace file to %s: %s\n", path_.c_str(),
                 ec.message().c_str());
}

Span::Span(Tracer* tracer, std::string name, const char* category, int tid, Json args)
    : tracer_(tracer), name_(std::move(name)), category_(category), tid_(tid),
      args_(std::move(args)), start_(tracer ? now_us() : 0) {}

void Span::end() {
  if (ended_ || !tracer_) return;
  ended_ = true;
  tracer_->span(std::move(name_), category_, start_, now_us(), tid_, std::move(args_));
}

}  // namespace smp::trace
