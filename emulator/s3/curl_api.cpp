#include "emulator/s3/curl_api.h"

#include <mutex>
#include <string>

#include "emulator/common/shared_library.h"
#include "emulator/s3/error.h"

namespace smp::s3 {
namespace {

CurlApi load() {
  const smplocal::SharedLibrary<S3Error> lib("libcurl.so.4", "libcurl4", " for S3");
  CurlApi api{};
  lib.resolve("curl_global_init", api.global_init);
  lib.resolve("curl_easy_init", api.easy_init);
  lib.resolve("curl_easy_cleanup", api.easy_cleanup);
  lib.resolve("curl_easy_reset", api.easy_reset);
  lib.resolve("curl_easy_setopt", api.easy_setopt);
  lib.resolve("curl_easy_perform", api.easy_perform);
  lib.resolve("curl_easy_getinfo", api.easy_getinfo);
  lib.resolve("curl_easy_strerror", api.easy_strerror);
  lib.resolve("curl_slist_append", api.slist_append);
  lib.resolve("curl_slist_free_all", api.slist_free_all);
  api.global_init(CURL_GLOBAL_DEFAULT);
  return api;  // the library stays loaded for the life of the process
}

}  // namespace

const CurlApi& curl_api() {
  static std::once_flag once;
  static CurlApi api;
  std::call_once(once, [] { api = load(); });
  return api;
}

}  // namespace smp::s3
