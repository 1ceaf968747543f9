#pragma once
// CurlApi: the few libcurl functions the HTTP layer calls, resolved with dlopen on first use, so
// that smp-local loads libcurl and its large dependency tree (TLS, Kerberos, LDAP, ...) only for
// jobs that touch S3 — loading it costs every run several milliseconds at start.

#include <curl/curl.h>

namespace smp::s3 {

struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL* handle);
  void (*easy_reset)(CURL* handle);
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* text);
  void (*slist_free_all)(curl_slist* list);
};

// libcurl.so.4, loaded and globally initialised once; throws S3Error when it cannot be loaded.
const CurlApi& curl_api();

}  // namespace smp::s3
