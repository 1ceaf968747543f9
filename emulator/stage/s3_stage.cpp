#include "emulator/stage/s3_stage.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "emulator/common/error.h"
#include "emulator/s3/channel.h"
#include "emulator/s3/checkpoint_sync.h"
#include "emulator/s3/client.h"
#include "emulator/s3/config.h"
#include "emulator/s3/progress.h"
#include "emulator/s3/transfer.h"
#include "emulator/s3/uri.h"
#include "emulator/stage/channels.h"

namespace smplocal {

namespace fs = std::filesystem;
namespace s3 = smp::s3;

namespace {

// "12.0 MiB in 0.41 s, 29.3 MiB/s"
std::string transfer_text(uint64_t bytes, std::chrono::steady_clock::time_point start) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, " in %.2f s, ", seconds);
  return s3::format_bytes(bytes) + buf + s3::format_rate(static_cast<double>(bytes) / std::max(seconds, 1e-6));
}

}  // namespace

bool job_uses_s3(const TrainingJob& job) {
  auto is_s3 = [](const std::string& s) { return s.rfind("s3://", 0) == 0; };
  for (const auto& c : job.channels)
    if (c.is_s3()) return true;
  return is_s3(job.output_path) || is_s3(job.code_source) || !job.code_upload_uri.empty() ||
         (job.checkpoint && job.checkpoint->is_s3());
}

S3Session::S3Session(std::string endpoint, bool quiet, std::function<void(const std::string&)> log,
                     int concurrency)
    : endpoint_(std::move(endpoint)), quiet_(quiet), log_(std::move(log)), concurrency_(concurrency) {}

s3::TransferOptions S3Session::transfer_options() const {
  s3::TransferOptions options;
  if (concurrency_ > 0) options.concurrency = concurrency_;
  return options;
}

void S3Session::resolve_channels(const std::vector<ChannelSpec>& channels) {
  for (const auto& channel : channels) {
    if (!channel.is_s3()) continue;
    resolved_[channel.name] = s3::resolve_channel(client(), s3::S3Uri::parse(channel.uri),
                                                  s3::parse_s3_data_type(channel.s3_data_type));
  }
}

S3Session::~S3Session() = default;

const s3::ClientConfig& S3Session::config() {
  if (!config_) {
    s3::ConfigOverrides o;
    if (!endpoint_.empty()) o.endpoint_url = endpoint_;
    config_ = std::make_unique<s3::ClientConfig>(s3::resolve_config(o));
  }
  return *config_;
}

s3::Client& S3Session::client() {
  if (!client_) {
    client_ = std::make_unique<s3::Client>(config());
    log_("S3: " + config_->describe());
  }
  return *client_;
}

void S3Session::stage_channel(const ChannelSpec& channel, const std::vector<std::string>& hosts, const JobDir& dir) {
  if (!resolved_.count(channel.name)) resolve_channels({channel});
  const std::vector<s3::ChannelObject>& objects = resolved_.at(channel.name);
  s3::TransferOptions options = transfer_options();
  s3::TtyProgressPrinter printer("channel " + channel.name, quiet_);
  options.progress = printer.callback();
  s3::TransferManager tm(client(), options);
  int n = static_cast<int>(hosts.size());
  if (channel.distribution == "ShardedByS3Key" && n > 1) {
    for (int h = 0; h < n; ++h) {
      std::vector<s3::ChannelObject> mine;
      for (size_t i : shard_indices(objects.size(), h, n)) mine.push_back(objects[i]);
      fs::path target = dir.opt_ml(hosts[h]) / "input/data" / channel.name;
      fs::create_directories(target);
      auto summary = tm.download(s3::channel_downloads(mine, target));
      summaries_.push_back("channel " + channel.name + " (" + hosts[h] + ", ShardedByS3Key): " + summary.text());
      log_(summaries_.back());
    }
    return;
  }
  fs::path cache = dir.data_cache() / channel.name;
  fs::create_directories(cache);
  auto summary = tm.download(s3::channel_downloads(objects, cache));
  summaries_.push_back("channel " + channel.name + ": " + summary.text());
  log_(summaries_.back());
  for (const auto& host : hosts) {
    fs::path target = dir.opt_ml(host) / "input/data" / channel.name;
    fs::create_directories(target);
    for (const auto& o : objects) link_or_copy(cache / o.relative_path, target / o.relative_path);
  }
}

void S3Session::fetch(const std::string& uri, const fs::path& dest) {
  s3::S3Uri u = s3::S3Uri::parse(uri);
  fs::create_directories(dest.parent_path());
  s3::TransferOptions options = transfer_options();
  s3::TtyProgressPrinter printer(u.key.substr(u.key.rfind('/') + 1), quiet_);
  options.progress = printer.callback();
  const auto start = std::chrono::steady_clock::now();
  auto info = client().download_file(u.bucket, u.key, dest, options);
  summaries_.push_back("downloaded " + uri + " (" + transfer_text(info.size, start) + ")");
  log_(summaries_.back());
}

void S3Session::upload(const fs::path& source, const std::string& uri) {
  s3::S3Uri u = s3::S3Uri::parse(uri);
  s3::TransferOptions options = transfer_options();
  s3::TtyProgressPrinter printer(source.filename().string(), quiet_);
  options.progress = printer.callback();
  const auto start = std::chrono::steady_clock::now();
  client().put_file(u.bucket, u.key, source, options);
  summaries_.push_back("uploaded " + uri + " (" + transfer_text(fs::file_size(source), start) + ")");
  log_(summaries_.back());
}

void S3Session::start_checkpoints(const std::string& uri, const std::vector<fs::path>& host_dirs) {
  s3::CheckpointSyncOptions options;
  options.transfer = transfer_options();
  options.log = log_;
  checkpoint_uri_ = uri;
  checkpoint_hosts_ = host_dirs.size();
  checkpoints_ = std::make_unique<s3::CheckpointSync>(client(), s3::S3Uri::parse(uri), host_dirs, options);
  auto summary = checkpoints_->download_initial();
  log_("checkpoints " + uri + ": " + summary.text() + " into each of " + std::to_string(host_dirs.size()) + " hosts");
  checkpoints_->start();
}

std::string S3Session::finish_checkpoints() {
  if (!checkpoints_) return "";
  auto summary = checkpoints_->finish();
  checkpoints_.reset();
  std::string line = summary.text(s3::S3Uri::parse(checkpoint_uri_), checkpoint_hosts_);
  summaries_.push_back(line);
  return line;
}

}  // namespace smplocal
