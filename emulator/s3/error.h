#pragma once
// S3Error: every failure of the S3 client a user can hit, with the facts needed to act on it.

#include <stdexcept>
#include <string>

namespace smp::s3 {

// Carries the HTTP status (0 when no response arrived), the S3 error code ("NoSuchKey",
// "SignatureDoesNotMatch", or a client-side code such as "NoCredentials", "ConnectionFailed"),
// the endpoint and the object concerned. what() is the full, actionable sentence. It never
// contains a secret: messages are built from key ids, URIs and server texts only.
class S3Error : public std::runtime_error {
 public:
  S3Error(std::string message, int http_status = 0, std::string code = {}, std::string endpoint = {},
          std::string bucket = {}, std::string key = {}, bool retryable = false)
      : std::runtime_error(std::move(message)),
        http_status_(http_status),
        code_(std::move(code)),
        endpoint_(std::move(endpoint)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        retryable_(retryable) {}

  int http_status() const { return http_status_; }
  const std::string& code() const { return code_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& bucket() const { return bucket_; }
  const std::string& key() const { return key_; }
  // True when the failure was transient (5xx, throttling, reset, timeout) and retries ran out.
  bool retryable() const { return retryable_; }

 private:
  int http_status_;
  std::string code_;
  std::string endpoint_;
  std::string bucket_;
  std::string key_;
  bool retryable_;
};

}  // namespace smp::s3
