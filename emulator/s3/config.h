#pragma once
// ClientConfig: where the S3 client talks to (endpoint, addressing, region), as whom
// (credentials) and how patiently (retries, timeouts), resolved the way the AWS CLI resolves them.

#include <optional>
#include <string>
#include <string_view>

#include "emulator/s3/credentials.h"
#include "emulator/s3/env.h"
#include "emulator/s3/retry.h"

namespace smp::s3 {

enum class Addressing {
  kAuto,     // virtual-hosted for AWS endpoints and DNS-compatible buckets, else path-style
  kPath,     // http://host/bucket/key
  kVirtual,  // http://bucket.host/key
};
Addressing parse_addressing(std::string_view text);  // "auto" | "path" | "virtual"

// A parsed endpoint URL: "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com".
struct Endpoint {
  std::string scheme;  // "http" | "https"
  std::string host;    // "127.0.0.1", "s3.eu-west-1.amazonaws.com", "[::1]"
  int port = 0;        // 0 = the scheme's default
  std::string base_path;  // "" or "/prefix" (no trailing '/')

  static Endpoint parse(std::string_view url);  // throws S3Error "InvalidEndpoint"
  std::string url() const;                      // scheme://host[:port][base_path]
  std::string host_header() const;              // host[:port], port only when not default
  bool is_aws() const;                          // *.amazonaws.com(.cn)
  bool is_ip() const;                           // IPv4 literal, IPv6 literal or localhost
};

// What the caller decides (a CLI flag, a job spec); each unset field falls back to the chain.
struct ConfigOverrides {
  std::optional<std::string> endpoint_url;
  std::optional<std::string> region;
  std::optional<std::string> profile;
  std::optional<Addressing> addressing;
  std::optional<int> max_attempts;
};

struct ClientConfig {
  Endpoint endpoint;
  std::string endpoint_source;  // "--s3-endpoint-url", "AWS_ENDPOINT_URL_S3", "AWS default", ...
  std::string region = "us-east-1";
  std::string region_source = "default";
  Addressing addressing = Addressing::kAuto;
  Credentials credentials;
  RetryPolicy retry;
  long connect_timeout_ms = 10000;
  long stall_timeout_s = 60;  // a transfer below 1 byte/s this long is a timeout (retried)
  std::string ca_bundle;      // AWS_CA_BUNDLE, empty = system store

  bool virtual_hosted(std::string_view bucket) const;  // the addressing decision for a bucket
  std::string describe() const;  // one line for logs: endpoint, region, key id and sources only
};

// The DNS-compatible form a bucket needs for virtual-hosted addressing.
bool dns_compatible_bucket(std::string_view bucket, bool allow_dots);

// Endpoint: override, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, else
// https://s3.<region>.amazonaws.com. Region: override, AWS_REGION, AWS_DEFAULT_REGION, the
// profile's region, else us-east-1. Credentials: see resolve_credentials. Retries:
// AWS_MAX_ATTEMPTS. Throws S3Error with the fix when something is missing or malformed.
ClientConfig resolve_config(const ConfigOverrides& overrides = {},
                            const EnvLookup& env = process_environment());

}  // namespace smp::s3
