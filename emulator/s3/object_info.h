#pragma once
// ObjectInfo and ListPage: what S3 says about objects (listings, HEAD), as plain values.

#include <cstdint>
#include <string>
#include <vector>

namespace smp::s3 {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes; "<32 hex>" for single-part uploads, "<hex>-<n>" multipart
  std::string last_modified;

  // The ETag is a plain MD5 of the content (single PUT, no SSE-KMS): a download can verify it.
  bool etag_is_md5() const;
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_token;
};

struct CompletedPart {
  int number = 0;
  std::string etag;
};

// Strips the surrounding quotes S3 puts on ETags.
std::string unquote_etag(std::string etag);

}  // namespace smp::s3
