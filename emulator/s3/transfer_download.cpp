// TransferManager::download and Client::download_file: many objects, each in one GET or in
// parallel ranged GETs, written under temporary names, verified, then renamed into place.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "emulator/common/parallel.h"
#include "emulator/s3/crypto.h"
#include "emulator/s3/error.h"
#include "emulator/s3/local_files.h"
#include "emulator/s3/transfer.h"
#include "emulator/s3/uri.h"

namespace fs = std::filesystem;

namespace smp::s3 {

using smplocal::run_parallel;

namespace {

// Writes one part's bytes at its offset in the shared temp file (pwrite: parts run in parallel),
// optionally hashing them, and keeps the progress counters honest across retries.
class FilePartSink final : public BodySink {
 public:
  FilePartSink(int fd, uint64_t offset, const fs::path& path, Hasher* md5, ProgressTicker& ticker)
      : fd_(fd), offset_(offset), path_(path), md5_(md5), ticker_(ticker) {}

  void write(const char* data, size_t n) override {
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::pwrite(fd_, data + done, n - done, static_cast<off_t>(offset_ + pos_ + done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0)
        throw S3Error("cannot write " + path_.string() + ": " + std::strerror(errno) +
                          ". Free disk space or choose another destination",
                      0, "LocalWriteFailed");
      done += static_cast<size_t>(w);
    }
    if (md5_) md5_->update(data, n);
    pos_ += n;
    ticker_.add_bytes(n);
  }

  void reset() override {
    ticker_.sub_bytes(pos_);
    pos_ = 0;
    if (md5_) md5_->reset();
  }

 private:
  int fd_;
  uint64_t offset_, pos_ = 0;
  const fs::path& path_;
  Hasher* md5_;
  ProgressTicker& ticker_;
};

// One object of the batch: its temp file, which parts are done, and the in-order MD5 frontier.
struct ObjectJob {
  const DownloadItem* item = nullptr;
  uint64_t size = 0;
  std::string etag;
  uint64_t parts = 1;
  bool verify = false;  // single-part MD5 ETag and verification enabled

  std::mutex mutex;
  fs::path temp;
  int fd = -1;
  bool opened = false;
  std::vector<char> part_done;
  uint64_t done = 0, hashed = 0;
  bool hashing = false, finalized = false, completed = false;
  Hasher md5{Hasher::Kind::kMd5};
};

struct PartTask {
  size_t job;
  uint64_t part;
};

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

class DownloadRun {
 public:
  DownloadRun(Client& client, const TransferOptions& options, ProgressTicker& ticker)
      : client_(client), options_(options), ticker_(ticker) {}

  void plan(const std::vector<DownloadItem>& items) {
    jobs_ = std::vector<ObjectJob>(items.size());
    const uint64_t part = std::max<uint64_t>(options_.part_size, 1);
    for (size_t i = 0; i < items.size(); ++i) {
      ObjectJob& job = jobs_[i];
      job.item = &items[i];
      job.size = items[i].size;
      job.etag = items[i].etag;
      job.parts = job.size > options_.multipart_threshold ? (job.size + part - 1) / part : 1;
      job.verify = options_.verify_md5 && ObjectInfo{"", 0, job.etag, ""}.etag_is_md5();
      job.part_done.assign(job.parts, 0);
      for (uint64_t p = 0; p < job.parts; ++p) tasks_.push_back({i, p});
    }
  }

  void run() {
    run_parallel(tasks_.size(), options_.concurrency, [this](size_t i) { run_task(tasks_[i]); });
  }

  // After a failure: close and delete every temp file; optionally undo completed objects.
  void clean_up(bool rollback) {
    for (auto& job : jobs_) {
      if (job.fd >= 0) ::close(job.fd), job.fd = -1;
      std::error_code ec;
      if (job.opened && !job.completed) fs::remove(job.temp, ec);
      if (rollback && job.completed) fs::remove(job.item->destination, ec);
    }
    dirs_.remove_created_if_empty();
  }

 private:
  void open_once(ObjectJob& job) {
    std::lock_guard lock(job.mutex);
    if (job.opened) return;
    dirs_.ensure(job.item->destination.parent_path());
    job.temp = temp_path_for(job.item->destination);
    job.fd = open_temp_file(job.temp);
    job.opened = true;
    if (job.size > 0 && ::ftruncate(job.fd, static_cast<off_t>(job.size)) != 0)
      throw S3Error("cannot allocate " + format_bytes(job.size) + " for " + job.temp.string() +
                        ": " + std::strerror(errno) + ". Free disk space",
                    0, "LocalWriteFailed");
  }

  void run_task(const PartTask& task) {
    ObjectJob& job = jobs_[task.job];
    const DownloadItem& item = *job.item;
    open_once(job);
    if (job.parts == 1) {
      Hasher md5(Hasher::Kind::kMd5);
      FilePartSink sink(job.fd, 0, job.temp, job.verify ? &md5 : nullptr, ticker_);
      // No Range: a whole-object GET whose length differs from the listing is caught below.
      client_.get_object_to(item.bucket, item.key, sink,
                            {false, 0, 0, static_cast<int64_t>(job.size), {}});
      if (job.verify) check_md5(job, to_hex(md5.digest()));
      finalize(job);
      return;
    }
    const uint64_t part = std::max<uint64_t>(options_.part_size, 1);
    const uint64_t offset = task.part * part;
    const uint64_t length = std::min(part, job.size - offset);
    FilePartSink sink(job.fd, offset, job.temp, nullptr, ticker_);
    const HttpResponse response = client_.get_object_to(
        item.bucket, item.key, sink, {true, offset, length, static_cast<int64_t>(length), job.etag});
    check_total(job, response.header("content-range"));
    part_finished(job, task.part);
  }

  // The object must not have changed size since it was listed (servers without If-Match).
  void check_total(const ObjectJob& job, const std::string& content_range) {
    const size_t slash = content_range.rfind('/');
    if (slash == std::string::npos) return;
    const std::string total = content_range.substr(slash + 1);
    if (total != "*" && total != std::to_string(job.size))
      throw S3Error("S3 object " + S3Uri{job.item->bucket, job.item->key}.str() + " changed during "
                        "the download (now " + total + " bytes, listed as " +
                        std::to_string(job.size) + "); run the job again once writers are done",
                    0, "ObjectChanged", client_.config().endpoint.url(), job.item->bucket,
                    job.item->key);
  }

  void check_md5(const ObjectJob& job, const std::string& actual) {
    if (lower(actual) == lower(job.etag)) return;
    throw S3Error("downloaded " + S3Uri{job.item->bucket, job.item->key}.str() +
                      " but its MD5 " + actual + " differs from the object's ETag " + job.etag +
                      ": the data was corrupted in transit or the object changed; retry the "
                      "download",
                  0, "CorruptDownload", client_.config().endpoint.url(), job.item->bucket,
                  job.item->key);
  }

  // Marks a part done; whoever extends the contiguous done prefix hashes it (reading back from
  // the page cache), so MD5 verification overlaps with the download of later parts.
  void part_finished(ObjectJob& job, uint64_t part) {
    std::unique_lock lock(job.mutex);
    job.part_done[part] = 1;
    ++job.done;
    if (job.verify) {
      if (job.hashing) return;  // the active hasher will see this part and finalize
      job.hashing = true;
      std::vector<char> buffer;
      while (job.hashed < job.parts && job.part_done[job.hashed]) {
        const uint64_t index = job.hashed;
        lock.unlock();
        hash_part(job, index, buffer);
        lock.lock();
        ++job.hashed;
      }
      job.hashing = false;
    }
    const bool ready = job.done == job.parts && (!job.verify || job.hashed == job.parts) && !job.finalized;
    if (!ready) return;
    job.finalized = true;
    lock.unlock();
    if (job.verify) check_md5(job, to_hex(job.md5.digest()));
    finalize(job);
  }

  void hash_part(ObjectJob& job, uint64_t index, std::vector<char>& buffer) {
    const uint64_t part = std::max<uint64_t>(options_.part_size, 1);
    uint64_t offset = index * part;
    const uint64_t end = std::min(job.size, offset + part);
    buffer.resize(1 << 20);
    while (offset < end) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - offset));
      const ssize_t got = ::pread(job.fd, buffer.data(), want, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        throw S3Error("cannot read back " + job.temp.string() + " to verify it: " +
                          (got == 0 ? std::string("short file") : std::string(std::strerror(errno))),
                      0, "LocalReadFailed");
      job.md5.update(buffer.data(), static_cast<size_t>(got));
      offset += static_cast<uint64_t>(got);
    }
  }

  void finalize(ObjectJob& job) {
    struct stat st {};
    if (::fstat(job.fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != job.size)
      throw S3Error("downloaded " + S3Uri{job.item->bucket, job.item->key}.str() + " has " +
                        std::to_string(st.st_size) + " bytes instead of " + std::to_string(job.size),
                    0, "CorruptDownload");
    ::close(job.fd);
    job.fd = -1;
    std::error_code ec;
    fs::rename(job.temp, job.item->destination, ec);
    if (ec)
      throw S3Error("cannot move the downloaded " + S3Uri{job.item->bucket, job.item->key}.str() +
                        " to " + job.item->destination.string() + ": " + ec.message() +
                        ". Is there a directory of that name?",
                    0, "LocalWriteFailed");
    job.completed = true;
    ticker_.add_object();
  }

  Client& client_;
  const TransferOptions& options_;
  ProgressTicker& ticker_;
  std::vector<ObjectJob> jobs_;
  std::vector<PartTask> tasks_;
  CreatedDirectories dirs_;
};

// Fills in sizes and ETags the caller did not know, with parallel HEADs.
std::vector<DownloadItem> with_sizes(Client& client, const std::vector<DownloadItem>& items,
                                     int concurrency) {
  std::vector<DownloadItem> out = items;
  std::vector<size_t> unknown;
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].size == kUnknownSize) unknown.push_back(i);
  run_parallel(unknown.size(), concurrency, [&](size_t u) {
    DownloadItem& item = out[unknown[u]];
    const auto info = client.head_object(item.bucket, item.key);
    if (!info)
      throw S3Error("S3 object " + S3Uri{item.bucket, item.key}.str() + " does not exist at " +
                        client.config().endpoint.url() + ": check the key (keys are case-sensitive)",
                    404, "NoSuchKey", client.config().endpoint.url(), item.bucket, item.key);
    item.size = info->size;
    if (item.etag.empty()) item.etag = info->etag;
  });
  return out;
}

}  // namespace

TransferManager::TransferManager(Client& client, TransferOptions options)
    : client_(client), options_(std::move(options)) {}

TransferSummary TransferManager::download(const std::vector<DownloadItem>& requested) {
  const auto start = std::chrono::steady_clock::now();
  std::map<fs::path, const DownloadItem*> seen;
  for (const auto& item : requested) {
    auto [it, fresh] = seen.emplace(item.destination.lexically_normal(), &item);
    if (!fresh)
      throw S3Error("two objects would be written to the same file " + item.destination.string() +
                        ": " + S3Uri{it->second->bucket, it->second->key}.str() + " and " +
                        S3Uri{item.bucket, item.key}.str(),
                    0, "DestinationConflict");
  }
  const std::vector<DownloadItem> items = with_sizes(client_, requested, options_.concurrency);
  uint64_t total = 0;
  for (const auto& item : items) total += item.size;

  ProgressTicker ticker(options_.progress, items.size(), total);
  DownloadRun run(client_, options_, ticker);
  run.plan(items);
  try {
    run.run();
  } catch (...) {
    run.clean_up(options_.rollback_on_failure);
    ticker.finish();
    throw;
  }
  ticker.finish();
  TransferSummary summary;
  summary.verb = "downloaded";
  summary.objects = items.size();
  summary.bytes = total;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

ObjectInfo Client::download_file(const std::string& bucket, const std::string& key,
                                 const fs::path& destination, const TransferOptions& options) {
  const auto info = head_object(bucket, key);
  if (!info)
    throw S3Error("S3 object " + S3Uri{bucket, key}.str() + " does not exist at " +
                      config_.endpoint.url() + ": check the key (keys are case-sensitive)",
                  404, "NoSuchKey", config_.endpoint.url(), bucket, key);
  TransferManager manager(*this, options);
  manager.download({{bucket, key, info->size, info->etag, destination}});
  return *info;
}

}  // namespace smp::s3
