#pragma once
// AWS Signature Version 4 for request headers: canonical request, string to sign, signature.
// Pure functions (no clock, no I/O) so AWS's published test vectors pin every stage.

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smp::s3 {

using NameValues = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 encoding as SigV4 defines it: A-Z a-z 0-9 - . _ ~ stay, every other byte becomes
// %XX (upper-case hex); '/' stays when keep_slash (paths) and becomes %2F otherwise (query).
std::string uri_encode(std::string_view text, bool keep_slash);
// Inverse of uri_encode (also of the `encoding-type=url` form S3 uses in listings; '+' is kept).
std::string uri_decode(std::string_view text);

// One request as the signer sees it. `path` is the decoded path ("/bucket/my key.txt");
// `query` holds decoded names and values; `headers` must contain every header to sign.
struct SigningRequest {
  std::string method;
  std::string path;
  NameValues query;
  NameValues headers;
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigningScope {
  std::string amz_date;  // "20150830T123600Z"
  std::string region;    // "us-east-1"
  std::string service;   // "s3"
};

struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-content-sha256;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

// S3 encodes the path once; every other service encodes the already-encoded path a second time
// (and the older test suite exercises that form).
enum class PathEncoding { kSingle, kDouble };

std::string canonical_uri(std::string_view path, PathEncoding encoding);
std::string canonical_query(const NameValues& query);
// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated names
// joined with ','. Returns {canonical header block, signed header list}.
std::pair<std::string, std::string> canonical_headers(const NameValues& headers);
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
SigningResult sign_v4(const SigningRequest& request, const SigningScope& scope,
                      std::string_view access_key_id, std::string_view secret_access_key,
                      PathEncoding encoding = PathEncoding::kSingle);

std::string amz_date(std::time_t when);  // UTC "YYYYMMDDTHHMMSSZ"

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace smp::s3
