#include "emulator/stage/channels.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emulator/common/error.h"

namespace smplocal {

namespace fs = std::filesystem;

std::vector<std::string> list_files_sorted(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path().lexically_relative(root).generic_string());
  }
  if (ec) throw Error("cannot list " + root.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<size_t> shard_indices(size_t count, int host_index, int hosts) {
  std::vector<size_t> out;
  for (size_t i = static_cast<size_t>(host_index); i < count; i += static_cast<size_t>(hosts)) out.push_back(i);
  return out;
}

bool link_or_copy(const fs::path& src, const fs::path& dst) {
  fs::create_directories(dst.parent_path());
  if (link(src.c_str(), dst.c_str()) == 0) return false;
  int err = errno;
  if (err != EXDEV && err != EPERM && err != EMLINK)
    throw Error("cannot link " + src.string() + " to " + dst.string() + ": " + strerror(err));
  std::error_code ec;
  fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error("cannot copy " + src.string() + " to " + dst.string() + ": " + ec.message());
  return true;
}

ChannelStageResult stage_local_channel(const ChannelSpec& channel, int host_index, int hosts,
                                       const fs::path& channel_dir, bool use_mounts) {
  ChannelStageResult r;
  fs::path source = channel.uri;
  fs::create_directories(channel_dir);
  std::string target = "/opt/ml/input/data/" + channel.name;
  bool sharded = channel.distribution == "ShardedByS3Key" && hosts > 1;
  if (fs::is_directory(source) && !sharded) {
    if (use_mounts) {
      r.mounts.push_back({fs::canonical(source).string(), target, true});
      return r;
    }
    // No namespaces: the channel directory becomes a symlink to the data (O(1) as well).
    fs::remove(channel_dir);
    fs::create_directory_symlink(fs::canonical(source), channel_dir);
    r.log.push_back("channel " + channel.name + ": linked to " + source.string());
    return r;
  }
  std::vector<std::string> files;
  fs::path base;
  if (fs::is_directory(source)) {
    base = source;
    files = list_files_sorted(source);
  } else {
    base = source.parent_path();  // a single file: the channel holds just that file
    files = {source.filename().string()};
  }
  std::vector<size_t> mine;
  if (sharded) {
    mine = shard_indices(files.size(), host_index, hosts);
  } else {
    for (size_t i = 0; i < files.size(); ++i) mine.push_back(i);
  }
  for (size_t i : mine) {
    if (link_or_copy(base / files[i], channel_dir / files[i])) ++r.files_copied;
    else ++r.files_linked;
  }
  if (r.files_copied)
    r.log.push_back("channel " + channel.name + ": " + std::to_string(r.files_copied) +
                    " files copied (hard links impossible: another file system, or files this user does not own)");
  if (sharded)
    r.log.push_back("channel " + channel.name + " (ShardedByS3Key): algo-" + std::to_string(host_index + 1) + " gets " +
                    std::to_string(mine.size()) + " of " + std::to_string(files.size()) + " files");
  return r;
}

}  // namespace smplocal
