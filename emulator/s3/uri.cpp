#include "emulator/s3/uri.h"

#include "emulator/s3/error.h"

namespace smp::s3 {

namespace {

constexpr std::string_view kScheme = "s3://";

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
  throw S3Error("invalid S3 URI '" + std::string(text) + "': " + why +
                    ". Write it as s3://<bucket>/<key or prefix>, e.g. s3://my-bucket/data/train/",
                0, "InvalidUri");
}

}  // namespace

bool S3Uri::looks_like(std::string_view text) { return iequals_prefix(text, kScheme); }

S3Uri S3Uri::parse(std::string_view text) {
  if (!looks_like(text)) invalid(text, "it does not start with s3://");
  std::string_view rest = text.substr(kScheme.size());
  const size_t slash = rest.find('/');
  S3Uri uri;
  uri.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) uri.key = std::string(rest.substr(slash + 1));
  if (uri.bucket.empty()) invalid(text, "the bucket name is empty");
  // Real bucket names are 3-63 characters of [a-z0-9.-]; legacy us-east-1 buckets also allow
  // upper case and '_'. Refuse only what can never be a bucket and would break a URL.
  for (char c : uri.bucket) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) invalid(text, std::string("the bucket name has the character '") + c + "'");
  }
  if (uri.bucket.size() > 255) invalid(text, "the bucket name is longer than 255 characters");
  if (uri.key.find('\0') != std::string::npos) invalid(text, "the key contains a NUL character");
  return uri;
}

std::string S3Uri::str() const {
  std::string out(kScheme);
  out += bucket;
  if (!key.empty()) {
    out += '/';
    out += key;
  }
  return out;
}

std::string S3Uri::directory_part() const {
  const size_t slash = key.rfind('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash + 1);
}

S3Uri S3Uri::as_directory() const {
  S3Uri out = *this;
  if (!out.key.empty() && out.key.back() != '/') out.key += '/';
  return out;
}

S3Uri S3Uri::child(std::string_view relative) const {
  S3Uri out = as_directory();
  out.key += relative;
  return out;
}

}  // namespace smp::s3
