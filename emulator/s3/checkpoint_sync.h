#pragma once
// CheckpointSync: SageMaker's checkpoint behaviour (contract §6.2) for N emulated hosts that
// share one S3 location: copy everything under the URI into each host's checkpoint directory at
// start, upload files as they are written, mirror local deletions, and flush at the end.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "emulator/s3/progress.h"
#include "emulator/s3/transfer_options.h"
#include "emulator/s3/uri.h"

namespace smp::s3 {

class Client;

struct CheckpointSyncOptions {
  // A file is uploaded once its size and mtime are the same in two consecutive scans (so a file
  // still being written is not sent half-done); finish() uploads whatever is there.
  std::chrono::milliseconds scan_interval{1000};
  TransferOptions transfer;
  std::function<void(const std::string&)> log;  // background errors (retried next scan)
};

struct CheckpointSummary {
  uint64_t downloaded_objects = 0;
  uint64_t downloaded_bytes = 0;
  uint64_t uploaded_files = 0;
  uint64_t uploaded_bytes = 0;
  uint64_t deleted_objects = 0;
  // "checkpoints s3://b/ckpt/: downloaded 3 objects (1.2 MiB) into 2 hosts, uploaded 5 files
  // (10 MiB), deleted 1 object"
  std::string text(const S3Uri& uri, size_t hosts) const;
};

class CheckpointSync {
 public:
  CheckpointSync(Client& client, S3Uri uri, std::vector<std::filesystem::path> host_dirs,
                 CheckpointSyncOptions options = {});
  ~CheckpointSync();  // stops the watcher without a final sync (call finish() for that)
  CheckpointSync(const CheckpointSync&) = delete;
  CheckpointSync& operator=(const CheckpointSync&) = delete;

  // Creates the host directories and copies every object under the URI into each of them
  // (same key→path rule as an S3Prefix channel whose URI ends in '/'; unsafe keys refused first).
  TransferSummary download_initial();
  void start();                  // the periodic watcher thread
  CheckpointSummary finish();    // stop, one last full sync; throws S3Error if that fails
  void sync_once(bool final);    // one scan and its uploads/deletes (the watcher's step)
  CheckpointSummary summary() const;

 private:
  struct Stamp {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  using Snapshot = std::map<std::string, Stamp>;  // relative path → stamp

  Snapshot scan(const std::filesystem::path& dir) const;
  std::string key_for(const std::string& relative) const;

  Client& client_;
  S3Uri uri_;
  std::vector<std::filesystem::path> host_dirs_;
  CheckpointSyncOptions options_;

  mutable std::mutex state_mutex_;  // one sync at a time; guards everything below
  std::vector<Snapshot> synced_;    // per host: the version S3 holds (uploaded or downloaded)
  std::vector<Snapshot> previous_;  // per host: the last scan, for the stability rule
  CheckpointSummary summary_;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace smp::s3
