#pragma once
// Hashes the S3 client needs (SHA-256, HMAC-SHA-256, MD5), on OpenSSL's EVP interface.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace smp::s3 {

std::string to_hex(std::string_view bytes);     // lower-case hex, as SigV4 and ETags spell it
std::string to_base64(std::string_view bytes);  // for Content-MD5
std::string sha256(std::string_view data);      // raw 32 bytes
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes

// Incremental hash (MD5 or SHA-256) for data that arrives in pieces: object bodies and files.
class Hasher {
 public:
  enum class Kind { kMd5, kSha256 };
  explicit Hasher(Kind kind);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  std::string digest();  // raw bytes; the hasher starts over afterwards
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smp::s3
