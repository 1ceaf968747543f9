#include "emulator/s3/checkpoint_sync.h"

#include <sys/stat.h>

#include <set>

#include "emulator/s3/channel.h"
#include "emulator/s3/client.h"
#include "emulator/s3/error.h"
#include "emulator/s3/transfer.h"

namespace fs = std::filesystem;

namespace smp::s3 {

namespace {

// Our own in-flight download names (".<name>.smp-part-<hex>") are never checkpoints.
bool is_temp_name(const std::string& filename) {
  return !filename.empty() && filename.front() == '.' &&
         filename.find(".smp-part-") != std::string::npos;
}

std::string plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string CheckpointSummary::text(const S3Uri& uri, size_t hosts) const {
  return "checkpoints " + uri.str() + ": downloaded " + plural(downloaded_objects, "object") + " (" +
         format_bytes(downloaded_bytes) + ") into " + plural(hosts, "host") + ", uploaded " +
         plural(uploaded_files, "file") + " (" + format_bytes(uploaded_bytes) + "), deleted " +
         plural(deleted_objects, "object");
}

CheckpointSync::CheckpointSync(Client& client, S3Uri uri, std::vector<fs::path> host_dirs,
                               CheckpointSyncOptions options)
    : client_(client),
      uri_(uri.as_directory()),
      host_dirs_(std::move(host_dirs)),
      options_(std::move(options)),
      synced_(host_dirs_.size()),
      previous_(host_dirs_.size()) {}

CheckpointSync::~CheckpointSync() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::string CheckpointSync::key_for(const std::string& relative) const { return uri_.key + relative; }

CheckpointSync::Snapshot CheckpointSync::scan(const fs::path& dir) const {
  Snapshot snap;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return snap;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (is_temp_name(it->path().filename().string())) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0) continue;  // deleted meanwhile
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    snap[rel] = {static_cast<uint64_t>(st.st_size),
                 static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }
  return snap;
}

TransferSummary CheckpointSync::download_initial() {
  std::lock_guard lock(state_mutex_);
  for (const auto& dir : host_dirs_) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      throw S3Error("cannot create the checkpoint directory " + dir.string() + ": " + ec.message(),
                    0, "LocalWriteFailed");
  }
  TransferSummary result;
  result.verb = "downloaded";
  const auto objects = channel_from_listing(uri_, client_.list_objects(uri_.bucket, uri_.key));
  if (objects.empty() || host_dirs_.empty()) return result;
  TransferManager manager(client_, options_.transfer);
  result = manager.download(channel_downloads(objects, host_dirs_.front()));
  // The other hosts get local copies: one download, N identical directories.
  for (size_t h = 1; h < host_dirs_.size(); ++h) {
    for (const auto& o : objects) {
      const fs::path from = host_dirs_.front() / o.relative_path;
      const fs::path to = host_dirs_[h] / o.relative_path;
      std::error_code ec;
      fs::create_directories(to.parent_path(), ec);
      fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
      if (ec)
        throw S3Error("cannot copy checkpoint " + from.string() + " to " + to.string() + ": " +
                          ec.message(),
                      0, "LocalWriteFailed");
    }
  }
  for (size_t h = 0; h < host_dirs_.size(); ++h) {
    const Snapshot snap = scan(host_dirs_[h]);
    for (const auto& o : objects) {
      auto it = snap.find(o.relative_path);
      if (it != snap.end()) synced_[h][o.relative_path] = it->second;
    }
    previous_[h] = snap;
  }
  summary_.downloaded_objects = result.objects;
  summary_.downloaded_bytes = result.bytes;
  return result;
}

void CheckpointSync::sync_once(bool final) {
  std::lock_guard lock(state_mutex_);
  struct Upload {
    size_t host;
    std::string rel;
    Stamp stamp;
  };
  std::vector<Upload> uploads;
  std::set<std::string> deletes;
  std::vector<std::vector<std::string>> gone(host_dirs_.size());
  for (size_t h = 0; h < host_dirs_.size(); ++h) {
    const Snapshot now = scan(host_dirs_[h]);
    for (const auto& [rel, stamp] : now) {
      auto known = synced_[h].find(rel);
      if (known != synced_[h].end() && known->second == stamp) continue;
      auto before = previous_[h].find(rel);
      const bool stable = before != previous_[h].end() && before->second == stamp;
      if (final || stable) uploads.push_back({h, rel, stamp});
    }
    for (const auto& [rel, stamp] : synced_[h])
      if (!now.count(rel)) gone[h].push_back(rel);
    previous_[h] = now;
  }
  std::set<std::string> uploading;
  for (const auto& u : uploads) uploading.insert(key_for(u.rel));
  for (size_t h = 0; h < gone.size(); ++h)
    for (const auto& rel : gone[h])
      if (!uploading.count(key_for(rel))) deletes.insert(key_for(rel));

  // Deletions first, so that a file deleted on one host and rewritten on another ends up in S3.
  if (!deletes.empty()) {
    client_.delete_objects(uri_.bucket, std::vector<std::string>(deletes.begin(), deletes.end()));
    summary_.deleted_objects += deletes.size();
  }
  for (size_t h = 0; h < gone.size(); ++h)
    for (const auto& rel : gone[h]) synced_[h].erase(rel);

  if (!uploads.empty()) {
    std::vector<UploadItem> items;
    for (const auto& u : uploads) {
      check_relative_path(u.rel, "checkpoint file " + (host_dirs_[u.host] / u.rel).string());
      items.push_back({host_dirs_[u.host] / u.rel, uri_.bucket, key_for(u.rel)});
    }
    TransferManager manager(client_, options_.transfer);
    const TransferSummary done = manager.upload(items);
    for (const auto& u : uploads) synced_[u.host][u.rel] = u.stamp;
    summary_.uploaded_files += done.objects;
    summary_.uploaded_bytes += done.bytes;
  }
}

void CheckpointSync::start() {
  if (watcher_.joinable()) return;
  watcher_ = std::thread([this] {
    std::unique_lock lock(wake_mutex_);
    while (!wake_.wait_for(lock, options_.scan_interval, [this] { return stopping_; })) {
      lock.unlock();
      try {
        sync_once(false);
      } catch (const std::exception& e) {
        if (options_.log) options_.log(std::string("checkpoint sync will retry: ") + e.what());
      }
      lock.lock();
    }
  });
}

CheckpointSummary CheckpointSync::finish() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  sync_once(true);
  return summary();
}

CheckpointSummary CheckpointSync::summary() const {
  std::lock_guard lock(state_mutex_);
  return summary_;
}

}  // namespace smp::s3
