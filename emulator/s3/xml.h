#pragma once
// The S3 XML documents the client reads and writes (on pugixml): listings, errors, multipart
// and batch-delete requests and results.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/s3/object_info.h"

namespace smp::s3::xml {

struct ErrorDoc {
  std::string code;
  std::string message;
  std::string region;  // <Region> on redirects / AuthorizationHeaderMalformed
  std::string endpoint;  // <Endpoint> on PermanentRedirect
};

struct DeleteFailure {
  std::string key;
  std::string code;
  std::string message;
};

// Throws S3Error ("MalformedResponse") when the text is not the expected document.
ListPage parse_list_objects_v2(std::string_view text);
std::optional<ErrorDoc> parse_error(std::string_view text);  // nullopt when not an <Error>
std::string parse_upload_id(std::string_view text);
std::string parse_complete_etag(std::string_view text);
std::vector<DeleteFailure> parse_delete_result(std::string_view text);

std::string complete_multipart_body(const std::vector<CompletedPart>& parts);
std::string delete_objects_body(const std::vector<std::string>& keys);

}  // namespace smp::s3::xml
