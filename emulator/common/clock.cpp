#include "emulator/common/clock.h"

#include <cstdio>
#include <ctime>

namespace smplocal {
namespace {

std::tm utc_parts(SystemTime t, long& millis) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  millis = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count());
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm parts{};
  gmtime_r(&tt, &parts);
  return parts;
}

}  // namespace

std::string job_name_timestamp(SystemTime t) {
  long ms = 0;
  std::tm p = utc_parts(t, ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d-%02d-%02d-%02d-%03ld", p.tm_year + 1900,
                p.tm_mon + 1, p.tm_mday, p.tm_hour, p.tm_min, p.tm_sec, ms);
  return buf;
}

std::string iso_utc(SystemTime t) {
  long ms = 0;
  std::tm p = utc_parts(t, ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld000+00:00", p.tm_year + 1900,
                p.tm_mon + 1, p.tm_mday, p.tm_hour, p.tm_min, p.tm_sec, ms);
  return buf;
}

std::string log_time_utc(SystemTime t) {
  long ms = 0;
  std::tm p = utc_parts(t, ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", p.tm_year + 1900, p.tm_mon + 1,
                p.tm_mday, p.tm_hour, p.tm_min, p.tm_sec);
  return buf;
}

}  // namespace smplocal
