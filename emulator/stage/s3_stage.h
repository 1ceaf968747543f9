#pragma once
// S3 in a job's life: the one S3 client of a run (created on first use, from the standard
// credential/endpoint chain), S3 channels staged into the host trees, the code tarball fetched or
// uploaded as the SDK does, artifacts uploaded, checkpoints kept in sync.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emulator/s3/channel.h"
#include "emulator/s3/transfer_options.h"
#include "emulator/spec/job.h"
#include "emulator/stage/job_dir.h"

namespace smp::s3 {
class Client;
class CheckpointSync;
struct ClientConfig;
}  // namespace smp::s3

namespace smplocal {

class S3Session {
 public:
  // `endpoint`: --s3-endpoint (empty = AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS). `quiet`:
  // no TTY progress (--json). `concurrency`: requests in flight per transfer (--s3-concurrency;
  // 0 = the client's default).
  S3Session(std::string endpoint, bool quiet, std::function<void(const std::string&)> log,
            int concurrency = 0);
  ~S3Session();

  // Resolves endpoint, region and credentials without any request; throws smp::s3::S3Error.
  const smp::s3::ClientConfig& config();
  smp::s3::Client& client();

  // Lists every S3 channel of the job (prefix listing or manifest) and checks each key's local
  // path, so a key that would escape its channel directory is refused before anything is written.
  void resolve_channels(const std::vector<ChannelSpec>& channels);
  // Downloads a resolved S3 channel into every host's input/data/<name> (FullyReplicated: once
  // into the job's data cache, then hard-linked per host; ShardedByS3Key: each host's share).
  void stage_channel(const ChannelSpec& channel, const std::vector<std::string>& hosts, const JobDir& dir);
  // s3://.../sourcedir.tar.gz → a local file.
  void fetch(const std::string& uri, const std::filesystem::path& dest);
  // A local file → s3://...
  void upload(const std::filesystem::path& source, const std::string& uri);

  // Checkpoints: copy the S3 location into every host dir, then follow the hosts' writes.
  void start_checkpoints(const std::string& uri, const std::vector<std::filesystem::path>& host_dirs);
  // Stops following and does a last sync; returns the one-line summary.
  std::string finish_checkpoints();

  // Every transfer's one-line summary so far.
  const std::vector<std::string>& summaries() const { return summaries_; }

 private:
  std::string endpoint_;
  bool quiet_;
  std::function<void(const std::string&)> log_;
  int concurrency_;
  std::map<std::string, std::vector<smp::s3::ChannelObject>> resolved_;  // channel name → objects
  std::unique_ptr<smp::s3::ClientConfig> config_;
  std::unique_ptr<smp::s3::Client> client_;
  std::unique_ptr<smp::s3::CheckpointSync> checkpoints_;
  std::string checkpoint_uri_;
  size_t checkpoint_hosts_ = 0;
  std::vector<std::string> summaries_;

  smp::s3::TransferOptions transfer_options() const;
};

// Whether the job touches S3 at all (then credentials are checked before anything runs).
bool job_uses_s3(const TrainingJob& job);

}  // namespace smplocal
