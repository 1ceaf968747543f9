#include "emulator/s3/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "emulator/common/shared_library.h"
#include "emulator/s3/error.h"

namespace smp::s3 {
namespace {

// libcrypto is resolved with dlopen on first use, like libcurl (curl_api.h): linking it costs
// every smp-local command ~1 ms at start, and only jobs that touch S3 hash anything.
// clang-format off
#define SMP_LIBCRYPTO_FUNCTIONS(X) \
  X(EVP_EncodeBlock) \
  X(HMAC) \
  X(EVP_sha256) \
  X(EVP_md5) \
  X(EVP_MD_CTX_new) \
  X(EVP_MD_CTX_free) \
  X(EVP_DigestInit_ex) \
  X(EVP_DigestUpdate) \
  X(EVP_DigestFinal_ex)
// clang-format on

struct LibCrypto {
#define SMP_LIBCRYPTO_POINTER(name) decltype(&::name) name;
  SMP_LIBCRYPTO_FUNCTIONS(SMP_LIBCRYPTO_POINTER)
#undef SMP_LIBCRYPTO_POINTER
};

LibCrypto load_libcrypto() {
  const smplocal::SharedLibrary<S3Error> lib("libcrypto.so.3", "libssl3", " for S3");
  LibCrypto api{};
#define SMP_LIBCRYPTO_RESOLVE(name) lib.resolve(#name, api.name);
  SMP_LIBCRYPTO_FUNCTIONS(SMP_LIBCRYPTO_RESOLVE)
#undef SMP_LIBCRYPTO_RESOLVE
  return api;  // the library stays loaded for the life of the process
}

const LibCrypto& crypto() {
  static std::once_flag once;
  static LibCrypto api;
  std::call_once(once, [] { api = load_libcrypto(); });
  return api;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = crypto().EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                         reinterpret_cast<const unsigned char*>(bytes.data()),
                                         static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string sha256(std::string_view data) {
  Hasher h(Hasher::Kind::kSha256);
  h.update(data);
  return h.digest();
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!crypto().HMAC(crypto().EVP_sha256(), key.data(), static_cast<int>(key.size()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len))
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  const EVP_MD* md = nullptr;
};

Hasher::Hasher(Kind kind) : impl_(std::make_unique<Impl>()) {
  impl_->md = kind == Kind::kMd5 ? crypto().EVP_md5() : crypto().EVP_sha256();
  impl_->ctx = crypto().EVP_MD_CTX_new();
  if (!impl_->ctx) throw std::bad_alloc();
  reset();
}

Hasher::~Hasher() { crypto().EVP_MD_CTX_free(impl_->ctx); }

void Hasher::reset() {
  if (crypto().EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr) != 1)
    throw std::runtime_error("OpenSSL digest init failed");
}

void Hasher::update(const void* data, size_t size) {
  if (size && crypto().EVP_DigestUpdate(impl_->ctx, data, size) != 1)
    throw std::runtime_error("OpenSSL digest update failed");
}

std::string Hasher::digest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (crypto().EVP_DigestFinal_ex(impl_->ctx, out, &len) != 1)
    throw std::runtime_error("OpenSSL digest final failed");
  reset();
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace smp::s3
