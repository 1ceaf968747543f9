#include "emulator/s3/progress.h"

#include <unistd.h>

#include <cstdio>

namespace smp::s3 {

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (v >= 1024 && unit < 3) v /= 1024, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, kUnits[unit]);
  return buf;
}

std::string format_rate(double bytes_per_second) {
  if (bytes_per_second < 0) bytes_per_second = 0;
  char buf[32];
  const double mib = bytes_per_second / (1024.0 * 1024.0);
  if (mib >= 10) std::snprintf(buf, sizeof buf, "%.0f MiB/s", mib);
  else if (mib >= 1) std::snprintf(buf, sizeof buf, "%.1f MiB/s", mib);
  else std::snprintf(buf, sizeof buf, "%.0f KiB/s", bytes_per_second / 1024.0);
  return buf;
}

std::string TransferSummary::text() const {
  char secs[32];
  std::snprintf(secs, sizeof secs, seconds >= 10 ? "%.0f s" : "%.1f s", seconds);
  const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  return verb + " " + std::to_string(objects) + (objects == 1 ? " object, " : " objects, ") +
         format_bytes(bytes) + " in " + secs + " (" + format_rate(rate) + ")";
}

ProgressTicker::ProgressTicker(ProgressCallback callback, uint64_t objects_total, uint64_t bytes_total)
    : callback_(std::move(callback)),
      objects_total_(objects_total),
      bytes_total_(bytes_total),
      start_(std::chrono::steady_clock::now()) {
  if (!callback_) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
      lock.unlock();
      callback_(sample());
      lock.lock();
    }
  });
}

ProgressTicker::~ProgressTicker() { finish(); }

TransferProgress ProgressTicker::sample() const {
  TransferProgress p;
  p.objects_done = objects_.load(std::memory_order_relaxed);
  p.objects_total = objects_total_;
  p.bytes_done = bytes_.load(std::memory_order_relaxed);
  p.bytes_total = bytes_total_;
  p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return p;
}

void ProgressTicker::finish() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  TransferProgress last = sample();
  last.finished = true;
  callback_(last);
}

TtyProgressPrinter::TtyProgressPrinter(std::string verb, bool quiet, int fd)
    : verb_(std::move(verb)), fd_(fd), active_(!quiet && ::isatty(fd) == 1) {}

ProgressCallback TtyProgressPrinter::callback() {
  if (!active_) return {};
  return [verb = verb_, fd = fd_](const TransferProgress& p) {
    std::string line;
    if (p.finished) {
      line = "\r\033[K";  // erase: the caller prints the summary line
    } else {
      const double rate = p.elapsed_s > 0 ? static_cast<double>(p.bytes_done) / p.elapsed_s : 0;
      line = "\r\033[K" + verb + "  " + std::to_string(p.objects_done) + "/" +
             std::to_string(p.objects_total) + " objects  " + format_bytes(p.bytes_done) + "/" +
             format_bytes(p.bytes_total) + "  " + format_rate(rate);
    }
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
  };
}

}  // namespace smp::s3
