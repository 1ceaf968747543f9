#pragma once
// Local channel staging: which files each emulated host gets (FullyReplicated: all;
// ShardedByS3Key: sorted relative paths, file i -> host i mod n — smp-local's rule, since AWS
// does not document one) and how they appear under /opt/ml/input/data/<channel> without copying
// bytes: a read-only bind mount of the directory in the host's namespace, else hard links, else
// (other file system) a copy, which is logged.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "emulator/spec/job.h"

namespace smplocal {

// A bind mount the host agent performs inside the host's mount namespace.
struct Mount {
  std::string source;  // absolute path on this machine
  std::string target;  // absolute path inside the host (e.g. /opt/ml/input/data/train)
  bool readonly = true;
};

// Every regular file under root, as sorted relative paths.
std::vector<std::string> list_files_sorted(const std::filesystem::path& root);

// ShardedByS3Key: the indices of `count` sorted items that host `host_index` of `hosts` gets.
std::vector<size_t> shard_indices(size_t count, int host_index, int hosts);

struct ChannelStageResult {
  std::vector<Mount> mounts;     // bind mounts for the agent (namespace mode only)
  size_t files_linked = 0;
  size_t files_copied = 0;
  std::vector<std::string> log;  // lines worth printing
};

// Stages a local channel for one host into `channel_dir` (= <host tree>/input/data/<name>).
// `use_mounts`: namespaces are available, so a whole directory is bind-mounted instead of linked.
ChannelStageResult stage_local_channel(const ChannelSpec& channel, int host_index, int hosts,
                                       const std::filesystem::path& channel_dir, bool use_mounts);

// Hard-links src to dst, or copies it when they are on different file systems. Returns true
// when it had to copy.
bool link_or_copy(const std::filesystem::path& src, const std::filesystem::path& dst);

}  // namespace smplocal
