#include "emulator/s3/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace smp::s3 {

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
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
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
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len))
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  const EVP_MD* md = nullptr;
};

Hasher::Hasher(Kind kind) : impl_(std::make_unique<Impl>()) {
  impl_->md = kind == Kind::kMd5 ? EVP_md5() : EVP_sha256();
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx) throw std::bad_alloc();
  reset();
}

Hasher::~Hasher() { EVP_MD_CTX_free(impl_->ctx); }

void Hasher::reset() {
  if (EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr) != 1)
    throw std::runtime_error("OpenSSL digest init failed");
}

void Hasher::update(const void* data, size_t size) {
  if (size && EVP_DigestUpdate(impl_->ctx, data, size) != 1)
    throw std::runtime_error("OpenSSL digest update failed");
}

std::string Hasher::digest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out, &len) != 1)
    throw std::runtime_error("OpenSSL digest final failed");
  reset();
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace smp::s3
