#include "emulator/s3/retry.h"

#include <algorithm>

namespace smp::s3 {

std::chrono::milliseconds RetryPolicy::delay(int failed_attempts, std::mt19937_64& rng) const {
  const int shift = std::clamp(failed_attempts - 1, 0, 30);
  const long long cap = std::min<long long>(max_delay.count(), base_delay.count() << shift);
  std::uniform_int_distribution<long long> pick(0, std::max<long long>(cap, 0));
  return std::chrono::milliseconds(pick(rng));
}

bool retryable_http(int status, std::string_view code) {
  if (status >= 500 || status == 429) return true;
  return code == "SlowDown" || code == "RequestTimeout" || code == "Throttling" ||
         code == "ThrottlingException" ||
         code == "InternalError" || code == "ServiceUnavailable";
}

}  // namespace smp::s3
