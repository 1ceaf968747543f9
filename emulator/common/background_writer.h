#pragma once
// BackgroundWriter: writes files on a thread of its own, so that a job's bookkeeping (its request,
// plan and record updates) does not hold up staging and launch; on a loaded file system each new
// file costs a fraction of a millisecond. Every write is atomic (a temporary file renamed into
// place). A write to a path whose previous write is still waiting replaces it: only the newest
// content of a record matters. drain() waits for everything and reports the first failure.

#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace smplocal {

class BackgroundWriter {
 public:
  BackgroundWriter();
  ~BackgroundWriter();  // drains; a failure nobody asked about is dropped here
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void write(const std::filesystem::path& path, std::string content);
  // Returns once every write so far is on disk; throws the first write's failure, if any.
  void drain();

 private:
  struct Pending {
    std::filesystem::path path;
    std::string content;
  };
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<Pending> queue_;
  bool busy_ = false;
  bool closing_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace smplocal
