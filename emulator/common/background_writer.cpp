#include "emulator/common/background_writer.h"

#include <utility>

#include "emulator/common/fs.h"

namespace smplocal {

BackgroundWriter::BackgroundWriter() : thread_([this] { loop(); }) {}

BackgroundWriter::~BackgroundWriter() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  thread_.join();  // the loop empties the queue before it ends
}

void BackgroundWriter::write(const std::filesystem::path& path, std::string content) {
  {
    std::lock_guard lock(mutex_);
    for (auto& p : queue_) {
      if (p.path == path) {
        p.content = std::move(content);
        return;
      }
    }
    queue_.push_back({path, std::move(content)});
  }
  wake_.notify_one();
}

void BackgroundWriter::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

void BackgroundWriter::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return !queue_.empty() || closing_; });
    if (queue_.empty()) return;  // closing, nothing left
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::exception_ptr failed;
    try {
      write_file_atomic(next.path, next.content);
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    if (failed && !failure_) failure_ = failed;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace smplocal
