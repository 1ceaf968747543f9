#include "emulator/s3/channel.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "emulator/common/parallel.h"
#include "emulator/s3/client.h"
#include "emulator/s3/error.h"

namespace smp::s3 {

using smplocal::run_parallel;

namespace {

[[noreturn]] void unsafe(const std::string& origin, std::string_view relative, const std::string& why) {
  throw S3Error("refusing " + origin + ": its local path '" + std::string(relative) + "' " + why +
                    ". Nothing was written. Rename the object so its path under the channel has "
                    "no leading '/', no empty, '.' or '..' segments",
                0, "UnsafeKey");
}

void sort_and_check_clashes(std::vector<ChannelObject>& objects, const std::string& where) {
  std::sort(objects.begin(), objects.end(),
            [](const ChannelObject& a, const ChannelObject& b) { return a.key < b.key; });
  std::set<std::string> files;
  for (const auto& o : objects) {
    if (!files.insert(o.relative_path).second)
      throw S3Error("two objects of " + where + " map to the same local file '" + o.relative_path +
                        "'; remove the duplicate entry",
                    0, "DestinationConflict");
  }
  for (const auto& o : objects) {
    for (size_t slash = o.relative_path.find('/'); slash != std::string::npos;
         slash = o.relative_path.find('/', slash + 1)) {
      const std::string dir = o.relative_path.substr(0, slash);
      if (files.count(dir))
        throw S3Error("the objects of " + where + " cannot all be files: '" + dir +
                          "' is an object and also the directory of '" + o.relative_path +
                          "'. Rename one of them in S3",
                      0, "DestinationConflict");
    }
  }
}

}  // namespace

S3DataType parse_s3_data_type(std::string_view text) {
  if (text == "S3Prefix") return S3DataType::kS3Prefix;
  if (text == "ManifestFile") return S3DataType::kManifestFile;
  if (text == "AugmentedManifestFile")
    throw S3Error("S3DataType AugmentedManifestFile is only supported in Pipe mode, which "
                  "smp-local does not emulate; use S3Prefix or ManifestFile with File mode",
                  0, "UnsupportedDataType");
  throw S3Error("unknown S3DataType '" + std::string(text) + "': use S3Prefix or ManifestFile", 0,
                "UnsupportedDataType");
}

std::optional<std::string> prefix_relative_path(const S3Uri& uri, std::string_view key) {
  if (key.substr(0, uri.key.size()) != uri.key)
    throw S3Error("the server listed the key '" + std::string(key) + "' under " + uri.str() +
                      " although it does not start with that prefix",
                  0, "MalformedResponse");
  if (!key.empty() && key.back() == '/') return std::nullopt;  // a "directory marker"
  return std::string(key.substr(uri.directory_part().size()));
}

void check_relative_path(std::string_view relative, const std::string& origin) {
  if (relative.empty()) unsafe(origin, relative, "is empty");
  if (relative.find('\0') != std::string_view::npos) unsafe(origin, relative, "contains a NUL byte");
  if (relative.front() == '/') unsafe(origin, relative, "is absolute");
  size_t begin = 0;
  for (;;) {
    const size_t end = relative.find('/', begin);
    const std::string_view segment =
        relative.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
    if (segment.empty()) unsafe(origin, relative, "has an empty path segment ('//' or a trailing '/')");
    if (segment == ".") unsafe(origin, relative, "has a '.' segment");
    if (segment == "..") unsafe(origin, relative, "would escape the channel directory ('..' segment)");
    if (segment.size() > 255) unsafe(origin, relative, "has a path segment longer than 255 bytes");
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
}

Manifest parse_manifest(std::string_view json_text, const S3Uri& manifest_uri) {
  const std::string where = "the manifest " + manifest_uri.str();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw S3Error(where + " is not valid JSON (" + e.what() + "); it must be a JSON array "
                      "[{\"prefix\": \"s3://bucket/prefix/\"}, \"relative/path\", ...]",
                  0, "InvalidManifest");
  }
  if (!doc.is_array() || doc.empty() || !doc[0].is_object() || !doc[0].contains("prefix") ||
      !doc[0]["prefix"].is_string())
    throw S3Error(where + " must be a JSON array whose first element is {\"prefix\": "
                      "\"s3://bucket/prefix/\"}, followed by relative paths",
                  0, "InvalidManifest");
  Manifest m;
  m.prefix = S3Uri::parse(doc[0]["prefix"].get<std::string>());
  for (size_t i = 1; i < doc.size(); ++i) {
    if (!doc[i].is_string())
      throw S3Error(where + ": element " + std::to_string(i) + " is " + doc[i].type_name() +
                        ", not a string; every element after the prefix must be a relative path",
                    0, "InvalidManifest");
    m.entries.push_back(doc[i].get<std::string>());
  }
  if (m.entries.empty())
    throw S3Error(where + " lists no objects after its prefix; add relative paths", 0,
                  "InvalidManifest");
  for (const auto& e : m.entries)
    check_relative_path(e, "manifest entry '" + e + "' of " + manifest_uri.str());
  return m;
}

std::vector<ChannelObject> channel_from_listing(const S3Uri& uri, std::vector<ObjectInfo> listing) {
  std::vector<ChannelObject> out;
  out.reserve(listing.size());
  for (auto& o : listing) {
    auto rel = prefix_relative_path(uri, o.key);
    if (!rel) continue;
    check_relative_path(*rel, "S3 key " + S3Uri{uri.bucket, o.key}.str() + " of channel " + uri.str());
    out.push_back({uri.bucket, std::move(o.key), std::move(*rel), o.size, std::move(o.etag)});
  }
  sort_and_check_clashes(out, uri.str());
  return out;
}

std::vector<ChannelObject> channel_from_manifest(const Manifest& manifest,
                                                 const std::vector<ObjectInfo>& entry_objects) {
  std::vector<ChannelObject> out;
  out.reserve(manifest.entries.size());
  for (size_t i = 0; i < manifest.entries.size(); ++i) {
    const std::string& entry = manifest.entries[i];
    check_relative_path(entry, "manifest entry '" + entry + "'");
    const ObjectInfo* info = i < entry_objects.size() ? &entry_objects[i] : nullptr;
    out.push_back({manifest.prefix.bucket, manifest.prefix.key + entry, entry,
                   info ? info->size : 0, info ? info->etag : std::string()});
  }
  sort_and_check_clashes(out, "the manifest with prefix " + manifest.prefix.str());
  return out;
}

std::vector<ChannelObject> resolve_channel(Client& client, const S3Uri& uri, S3DataType type,
                                           int concurrency) {
  const std::string endpoint = client.config().endpoint.url();
  if (type == S3DataType::kS3Prefix) {
    auto objects = channel_from_listing(uri, client.list_objects(uri.bucket, uri.key));
    if (objects.empty())
      throw S3Error("no objects under " + uri.str() + " at " + endpoint +
                        ": check the S3Uri of the channel (keys are case-sensitive)",
                    0, "EmptyChannel", endpoint, uri.bucket, uri.key);
    return objects;
  }
  const Manifest manifest = parse_manifest(client.get_object(uri.bucket, uri.key, 256ull << 20), uri);
  std::vector<ObjectInfo> infos(manifest.entries.size());
  run_parallel(infos.size(), concurrency, [&](size_t i) {
    const std::string key = manifest.prefix.key + manifest.entries[i];
    auto info = client.head_object(manifest.prefix.bucket, key);
    if (!info)
      throw S3Error("the manifest " + uri.str() + " lists '" + manifest.entries[i] + "', but " +
                        S3Uri{manifest.prefix.bucket, key}.str() + " does not exist at " + endpoint +
                        ": fix the manifest or upload the object",
                    404, "NoSuchKey", endpoint, manifest.prefix.bucket, key);
    infos[i] = *info;
  });
  return channel_from_manifest(manifest, infos);
}

std::vector<DownloadItem> channel_downloads(const std::vector<ChannelObject>& objects,
                                            const std::filesystem::path& channel_dir) {
  std::vector<DownloadItem> items;
  items.reserve(objects.size());
  for (const auto& o : objects)
    items.push_back({o.bucket, o.key, o.size, o.etag, channel_dir / o.relative_path});
  return items;
}

}  // namespace smp::s3
