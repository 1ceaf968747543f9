#include "emulator/s3/sigv4.h"

#include <algorithm>
#include <map>

#include "emulator/s3/crypto.h"

namespace smp::s3 {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Trim both ends and collapse every run of spaces/tabs to one space ("Trimall").
std::string trim_all(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string uri_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string canonical_uri(std::string_view path, PathEncoding encoding) {
  if (path.empty()) return "/";
  std::string once = uri_encode(path, true);
  return encoding == PathEncoding::kDouble ? uri_encode(once, true) : once;
}

std::string canonical_query(const NameValues& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query)
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::pair<std::string, std::string> canonical_headers(const NameValues& headers) {
  std::map<std::string, std::string> merged;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    std::string& slot = merged[lower(trim_all(name))];
    if (!slot.empty()) slot += ',';
    slot += trim_all(value);
  }
  std::string block, names;
  for (const auto& [name, value] : merged) {
    block += name;
    block += ':';
    block += value;
    block += '\n';
    if (!names.empty()) names += ';';
    names += name;
  }
  return {block, names};
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k = hmac_sha256("AWS4" + std::string(secret), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  return hmac_sha256(k, "aws4_request");
}

SigningResult sign_v4(const SigningRequest& request, const SigningScope& scope,
                      std::string_view access_key_id, std::string_view secret_access_key,
                      PathEncoding encoding) {
  SigningResult r;
  auto [header_block, signed_headers] = canonical_headers(request.headers);
  r.signed_headers = signed_headers;
  r.canonical_request = request.method + "\n" + canonical_uri(request.path, encoding) + "\n" +
                        canonical_query(request.query) + "\n" + header_block + "\n" +
                        signed_headers + "\n" + request.payload_hash;
  const std::string date = scope.amz_date.substr(0, 8);
  const std::string credential_scope =
      date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  r.string_to_sign = "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + credential_scope + "\n" +
                     sha256_hex(r.canonical_request);
  r.signature = to_hex(hmac_sha256(
      signing_key(secret_access_key, date, scope.region, scope.service), r.string_to_sign));
  r.authorization = "AWS4-HMAC-SHA256 Credential=" + std::string(access_key_id) + "/" +
                    credential_scope + ", SignedHeaders=" + signed_headers +
                    ", Signature=" + r.signature;
  return r;
}

std::string amz_date(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace smp::s3
