#include "emulator/s3/curl_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "emulator/s3/error.h"

namespace smp::s3 {
namespace {

template <typename F>
void resolve(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (!out) throw S3Error(std::string("libcurl.so.4 has no ") + name + "; install Debian's libcurl4");
}

CurlApi load() {
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw S3Error(std::string("cannot load libcurl.so.4 for S3 (") + dlerror() +
                  "); install it with scripts/install-deps.sh (Debian: libcurl4)");
  CurlApi api{};
  resolve(lib, "curl_global_init", api.global_init);
  resolve(lib, "curl_easy_init", api.easy_init);
  resolve(lib, "curl_easy_cleanup", api.easy_cleanup);
  resolve(lib, "curl_easy_reset", api.easy_reset);
  resolve(lib, "curl_easy_setopt", api.easy_setopt);
  resolve(lib, "curl_easy_perform", api.easy_perform);
  resolve(lib, "curl_easy_getinfo", api.easy_getinfo);
  resolve(lib, "curl_easy_strerror", api.easy_strerror);
  resolve(lib, "curl_slist_append", api.slist_append);
  resolve(lib, "curl_slist_free_all", api.slist_free_all);
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
