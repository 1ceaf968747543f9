#pragma once
// RetryPolicy: which S3 failures are transient and how long to wait before the next attempt
// (exponential backoff with full jitter, as in the AWS SDKs' "standard" retry mode).

#include <chrono>
#include <random>
#include <string_view>

namespace smp::s3 {

struct RetryPolicy {
  int max_attempts = 5;  // total attempts per request, first one included (AWS_MAX_ATTEMPTS)
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{20000};

  // Wait before attempt `failed_attempts + 1`: uniform in [0, min(max, base * 2^(n-1))].
  std::chrono::milliseconds delay(int failed_attempts, std::mt19937_64& rng) const;
};

// 5xx, 429, and the codes S3 uses for throttling and its own timeouts.
bool retryable_http(int status, std::string_view code);

}  // namespace smp::s3
