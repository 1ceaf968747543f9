#pragma once
// Channel resolution: which S3 objects make up an input channel and where each one lands under
// /opt/ml/input/data/<channel>. Pure mapping rules first (tested without a server), then a thin
// function that lists or reads the manifest through a Client.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/s3/object_info.h"
#include "emulator/s3/transfer.h"
#include "emulator/s3/uri.h"

namespace smp::s3 {

class Client;

enum class S3DataType { kS3Prefix, kManifestFile };
// "S3Prefix" | "ManifestFile"; AugmentedManifestFile (Pipe mode only) and others are refused.
S3DataType parse_s3_data_type(std::string_view text);

struct ChannelObject {
  std::string bucket;
  std::string key;
  std::string relative_path;  // under the channel directory, '/'-separated, checked safe
  uint64_t size = 0;
  std::string etag;
};

// S3Prefix rule of the real service (contract §5.4): the key minus the URI key's directory part
// (everything up to and including its last '/'). nullopt for "directory marker" keys ending in
// '/'. Not SDK local mode's key[len(prefix):], which turns data/train-a.csv into "-a.csv".
std::optional<std::string> prefix_relative_path(const S3Uri& uri, std::string_view key);

// Refuses (S3Error "UnsafeKey") a relative path that could escape or misname a file in the
// channel directory: empty, absolute, NUL, empty / "." / ".." segments, a segment over 255 bytes.
// `origin` names where it came from in the message ("S3 key s3://b/k").
void check_relative_path(std::string_view relative, const std::string& origin);

// A ManifestFile: [{"prefix": "s3://bucket/p/"}, "rel/1", "rel/2", ...]. Each object is
// prefix + entry and lands at the entry's path (relative to the prefix). The real service's
// local naming is undocumented (contract, "Not confirmed" #2); this keeps the manifest's own
// relative names, the least surprising choice.
struct Manifest {
  S3Uri prefix;
  std::vector<std::string> entries;
};
Manifest parse_manifest(std::string_view json_text, const S3Uri& manifest_uri);

// Pure: maps a listing (S3Prefix) or a manifest plus each entry's object info to channel
// objects, refusing unsafe paths and file/directory clashes ("a" and "a/b") before anything is
// written; the result is sorted by key (ShardedByS3Key is applied by the caller on this order).
std::vector<ChannelObject> channel_from_listing(const S3Uri& uri, std::vector<ObjectInfo> listing);
std::vector<ChannelObject> channel_from_manifest(const Manifest& manifest,
                                                 const std::vector<ObjectInfo>& entry_objects);

// Lists the prefix, or reads the manifest and HEADs its entries (in parallel); throws S3Error
// when the channel is empty or an entry is missing, naming the URI.
std::vector<ChannelObject> resolve_channel(Client& client, const S3Uri& uri, S3DataType type,
                                           int concurrency = 8);

// The download batch that materializes `objects` under `channel_dir`.
std::vector<DownloadItem> channel_downloads(const std::vector<ChannelObject>& objects,
                                            const std::filesystem::path& channel_dir);

}  // namespace smp::s3
