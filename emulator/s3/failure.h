#pragma once
// Turns a failed S3 call (HTTP error document or transport error) into an S3Error whose message
// says what failed, where, and what to do about it. Secrets never enter these messages.

#include <string>

#include "emulator/s3/config.h"
#include "emulator/s3/error.h"
#include "emulator/s3/http.h"

namespace smp::s3 {

struct FailedCall {
  std::string op;      // "GetObject"
  std::string bucket;  // may be empty
  std::string key;     // may be empty
  int attempts = 1;
};

S3Error http_failure(const ClientConfig& config, const FailedCall& call, const HttpResponse& response,
                     bool retryable);
S3Error transport_failure(const ClientConfig& config, const FailedCall& call,
                          const TransportError& error);

}  // namespace smp::s3
