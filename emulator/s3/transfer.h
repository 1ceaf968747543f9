#pragma once
// TransferManager: moves batches of objects between S3 and local files with bounded parallelism.
// Every object and every part of a large object is one task in one shared queue, so a batch of
// many small objects and a batch of one huge object both keep `concurrency` requests in flight.

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "emulator/s3/client.h"
#include "emulator/s3/progress.h"
#include "emulator/s3/transfer_options.h"

namespace smp::s3 {

inline constexpr uint64_t kUnknownSize = std::numeric_limits<uint64_t>::max();

struct DownloadItem {
  std::string bucket;
  std::string key;
  uint64_t size = kUnknownSize;  // from the listing; kUnknownSize asks for a HEAD first
  std::string etag;              // from the listing; enables MD5 verification and If-Match
  std::filesystem::path destination;
};

struct UploadItem {
  std::filesystem::path source;
  std::string bucket;
  std::string key;
};

class TransferManager {
 public:
  explicit TransferManager(Client& client, TransferOptions options = {});

  // Each object appears at its destination whole or not at all (temp name, verified, renamed).
  // On failure: no temp file remains, directories the batch created and left empty are removed,
  // and with rollback_on_failure the files the batch already completed are removed too. Then the
  // first error is thrown.
  TransferSummary download(const std::vector<DownloadItem>& items);

  // Small files in one PUT, large ones in parallel multipart uploads (aborted on failure).
  // `etags`, when given, receives each item's ETag in order.
  TransferSummary upload(const std::vector<UploadItem>& items,
                         std::vector<std::string>* etags = nullptr);

  const TransferOptions& options() const { return options_; }

 private:
  Client& client_;
  TransferOptions options_;
};

}  // namespace smp::s3
