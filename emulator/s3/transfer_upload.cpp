// TransferManager::upload and Client::put_file: small files in one PUT, large files as parallel
// multipart uploads (create, parts, complete), every multipart upload aborted if the batch fails.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "emulator/common/parallel.h"
#include "emulator/s3/crypto.h"
#include "emulator/s3/error.h"
#include "emulator/s3/transfer.h"
#include "emulator/s3/uri.h"

namespace fs = std::filesystem;

namespace smp::s3 {

using smplocal::run_parallel;

namespace {

constexpr uint64_t kMinPart = 5ull << 20;  // S3's minimum for every part but the last
constexpr uint64_t kMaxParts = 10000;

// An open file descriptor, closed on scope exit.
class Fd {
 public:
  explicit Fd(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0)
      throw S3Error("cannot open " + path.string() + " for upload: " + std::strerror(errno), 0,
                    "LocalReadFailed");
  }
  ~Fd() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string md5_base64(int fd, uint64_t offset, uint64_t length, const fs::path& path) {
  FileRangeBody body(fd, offset, length, path.string());
  Hasher md5(Hasher::Kind::kMd5);
  std::vector<char> buffer(1 << 20);
  while (size_t n = body.read(buffer.data(), buffer.size())) md5.update(buffer.data(), n);
  return to_base64(md5.digest());
}

struct FileJob {
  const UploadItem* item = nullptr;
  uint64_t size = 0;
  uint64_t part_size = 0;  // 0: single PUT
  uint64_t parts = 0;
  std::string upload_id;
  std::vector<CompletedPart> completed;
  std::string etag;
};

struct Part {
  size_t job;
  uint64_t index;
};

}  // namespace

TransferSummary TransferManager::upload(const std::vector<UploadItem>& items,
                                        std::vector<std::string>* etags) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<FileJob> jobs(items.size());
  uint64_t total = 0;
  // Everything is checked before the first request, so a missing file sends nothing.
  for (size_t i = 0; i < items.size(); ++i) {
    std::error_code ec;
    const auto size = fs::file_size(items[i].source, ec);
    if (ec)
      throw S3Error("cannot upload " + items[i].source.string() + ": " + ec.message() +
                        ". Check that the file exists and is readable",
                    0, "LocalReadFailed");
    FileJob& job = jobs[i];
    job.item = &items[i];
    job.size = size;
    total += size;
    if (size > options_.multipart_threshold) {
      uint64_t part = std::max(options_.part_size, kMinPart);
      if ((size + part - 1) / part > kMaxParts) part = (size + kMaxParts - 1) / kMaxParts;
      job.part_size = part;
      job.parts = (size + part - 1) / part;
      job.completed.resize(job.parts);
    }
  }

  ProgressTicker ticker(options_.progress, items.size(), total);
  const int workers = options_.concurrency;
  try {
    // Phase 1: single PUTs and multipart creations.
    run_parallel(jobs.size(), workers, [&](size_t i) {
      FileJob& job = jobs[i];
      const UploadItem& item = *job.item;
      if (job.part_size) {
        job.upload_id = client_.create_multipart_upload(item.bucket, item.key);
        return;
      }
      Fd fd(item.source);
      FileRangeBody body(fd.get(), 0, job.size, item.source.string());
      const std::string md5 =
          options_.send_md5 ? md5_base64(fd.get(), 0, job.size, item.source) : std::string();
      job.etag = client_.put_object(item.bucket, item.key, body, md5);
      ticker.add_bytes(job.size);
      ticker.add_object();
    });
    // Phase 2: every part of every multipart file, in one queue.
    std::vector<Part> parts;
    for (size_t i = 0; i < jobs.size(); ++i)
      for (uint64_t p = 0; p < jobs[i].parts; ++p) parts.push_back({i, p});
    run_parallel(parts.size(), workers, [&](size_t n) {
      FileJob& job = jobs[parts[n].job];
      const UploadItem& item = *job.item;
      const uint64_t offset = parts[n].index * job.part_size;
      const uint64_t length = std::min(job.part_size, job.size - offset);
      Fd fd(item.source);
      FileRangeBody body(fd.get(), offset, length, item.source.string());
      const std::string md5 =
          options_.send_md5 ? md5_base64(fd.get(), offset, length, item.source) : std::string();
      const int number = static_cast<int>(parts[n].index + 1);
      job.completed[parts[n].index] = {number, client_.upload_part(item.bucket, item.key,
                                                                   job.upload_id, number, body, md5)};
      ticker.add_bytes(length);
    });
    // Phase 3: completions.
    std::vector<size_t> multipart;
    for (size_t i = 0; i < jobs.size(); ++i)
      if (jobs[i].part_size) multipart.push_back(i);
    run_parallel(multipart.size(), workers, [&](size_t n) {
      FileJob& job = jobs[multipart[n]];
      job.etag = client_.complete_multipart_upload(job.item->bucket, job.item->key, job.upload_id,
                                                   job.completed);
      ticker.add_object();
    });
  } catch (...) {
    std::vector<size_t> open;
    for (size_t i = 0; i < jobs.size(); ++i)
      if (!jobs[i].upload_id.empty() && jobs[i].etag.empty()) open.push_back(i);
    run_parallel(open.size(), workers, [&](size_t n) {
      const FileJob& job = jobs[open[n]];
      client_.abort_multipart_upload(job.item->bucket, job.item->key, job.upload_id);
    });
    ticker.finish();
    throw;
  }
  ticker.finish();
  if (etags) {
    etags->clear();
    for (const auto& job : jobs) etags->push_back(job.etag);
  }
  TransferSummary summary;
  summary.verb = "uploaded";
  summary.objects = items.size();
  summary.bytes = total;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

std::string Client::put_file(const std::string& bucket, const std::string& key,
                             const fs::path& source, const TransferOptions& options) {
  TransferManager manager(*this, options);
  std::vector<std::string> etags;
  manager.upload({{source, bucket, key}}, &etags);
  return etags.front();
}

}  // namespace smp::s3
