#include "emulator/s3/config.h"

#include <charconv>

#include "emulator/s3/error.h"

namespace smp::s3 {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

[[noreturn]] void bad_endpoint(std::string_view url, const std::string& why) {
  throw S3Error("invalid S3 endpoint URL '" + std::string(url) + "': " + why +
                    ". Write it as http(s)://host[:port], e.g. http://127.0.0.1:9000",
                0, "InvalidEndpoint");
}

}  // namespace

Addressing parse_addressing(std::string_view text) {
  const std::string t = lower(text);
  if (t == "auto") return Addressing::kAuto;
  if (t == "path") return Addressing::kPath;
  if (t == "virtual") return Addressing::kVirtual;
  throw S3Error("unknown S3 addressing style '" + std::string(text) +
                    "': use auto, path or virtual",
                0, "InvalidAddressing");
}

Endpoint Endpoint::parse(std::string_view url) {
  Endpoint e;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) bad_endpoint(url, "it has no scheme");
  e.scheme = lower(url.substr(0, sep));
  if (e.scheme != "http" && e.scheme != "https") bad_endpoint(url, "the scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    e.base_path = std::string(path);
  }
  if (authority.find('@') != std::string_view::npos)
    bad_endpoint(url, "user information in the URL is not supported");
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) bad_endpoint(url, "an IPv6 address lacks its ']'");
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') bad_endpoint(url, "unexpected text after the IPv6 address");
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) bad_endpoint(url, "the host is empty");
  e.host = lower(host);
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || p != port.data() + port.size() || e.port <= 0 || e.port > 65535)
      bad_endpoint(url, "the port is not a number from 1 to 65535");
  }
  return e;
}

std::string Endpoint::host_header() const {
  const int default_port = scheme == "https" ? 443 : 80;
  if (port == 0 || port == default_port) return host;
  return host + ":" + std::to_string(port);
}

std::string Endpoint::url() const { return scheme + "://" + host_header() + base_path; }

bool Endpoint::is_aws() const {
  return ends_with(host, ".amazonaws.com") || ends_with(host, ".amazonaws.com.cn");
}

bool Endpoint::is_ip() const {
  if (host == "localhost" || (!host.empty() && host.front() == '[')) return true;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

bool dns_compatible_bucket(std::string_view b, bool allow_dots) {
  if (b.size() < 3 || b.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  char prev = 0;
  for (char c : b) {
    if (c == '.') {
      if (!allow_dots || prev == '.' || prev == '-') return false;
    } else if (c == '-') {
      if (prev == '.') return false;
    } else if (!alnum(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool ClientConfig::virtual_hosted(std::string_view bucket) const {
  switch (addressing) {
    case Addressing::kPath: return false;
    case Addressing::kVirtual: return true;
    case Addressing::kAuto:
      // Dotted names break the *.s3 TLS certificate, so only plain names go virtual on https.
      return endpoint.is_aws() && !endpoint.is_ip() &&
             dns_compatible_bucket(bucket, endpoint.scheme == "http");
  }
  return false;
}

std::string ClientConfig::describe() const {
  return "endpoint " + endpoint.url() + " (" + endpoint_source + "), region " + region + " (" +
         region_source + "), access key id " + credentials.access_key_id + " (" +
         credentials.source + ")";
}

ClientConfig resolve_config(const ConfigOverrides& overrides, const EnvLookup& env) {
  ClientConfig cfg;
  const AwsFiles files = AwsFiles::load(env);
  const std::string profile = effective_profile(overrides.profile, env);
  const auto* profile_config = files.config_profile(profile);
  auto profile_value = [&](const std::string& key) -> std::optional<std::string> {
    if (!profile_config) return std::nullopt;
    auto it = profile_config->find(key);
    if (it == profile_config->end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  const std::string profile_where = files.config_path.string() + " [" +
                                    (profile == "default" ? profile : "profile " + profile) + "]";

  if (overrides.region) {
    cfg.region = *overrides.region, cfg.region_source = "explicit";
  } else if (auto r = env("AWS_REGION")) {
    cfg.region = *r, cfg.region_source = "AWS_REGION";
  } else if (auto r2 = env("AWS_DEFAULT_REGION")) {
    cfg.region = *r2, cfg.region_source = "AWS_DEFAULT_REGION";
  } else if (auto r3 = profile_value("region")) {
    cfg.region = *r3, cfg.region_source = profile_where;
  }

  std::string url;
  if (overrides.endpoint_url) {
    url = *overrides.endpoint_url, cfg.endpoint_source = "explicit endpoint URL";
  } else if (auto u = env("AWS_ENDPOINT_URL_S3")) {
    url = *u, cfg.endpoint_source = "AWS_ENDPOINT_URL_S3";
  } else if (auto u2 = env("AWS_ENDPOINT_URL")) {
    url = *u2, cfg.endpoint_source = "AWS_ENDPOINT_URL";
  } else if (auto u3 = profile_value("s3.endpoint_url")) {
    url = *u3, cfg.endpoint_source = profile_where + " s3.endpoint_url";
  } else if (auto u4 = profile_value("endpoint_url")) {
    url = *u4, cfg.endpoint_source = profile_where + " endpoint_url";
  } else {
    const bool china = cfg.region.rfind("cn-", 0) == 0;
    url = "https://s3." + cfg.region + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
    cfg.endpoint_source = "AWS default for region " + cfg.region;
  }
  cfg.endpoint = Endpoint::parse(url);

  if (overrides.addressing) {
    cfg.addressing = *overrides.addressing;
  } else if (auto a = profile_value("s3.addressing_style")) {
    cfg.addressing = parse_addressing(*a);
  }

  if (overrides.max_attempts) {
    cfg.retry.max_attempts = *overrides.max_attempts;
  } else if (auto m = env("AWS_MAX_ATTEMPTS")) {
    int n = 0;
    auto [p, ec] = std::from_chars(m->data(), m->data() + m->size(), n);
    if (ec != std::errc() || p != m->data() + m->size() || n < 1)
      throw S3Error("AWS_MAX_ATTEMPTS='" + *m + "' is not a positive integer; set it to e.g. 5",
                    0, "InvalidConfig");
    cfg.retry.max_attempts = n;
  }
  if (cfg.retry.max_attempts < 1) cfg.retry.max_attempts = 1;
  cfg.ca_bundle = env("AWS_CA_BUNDLE").value_or("");

  cfg.credentials =
      resolve_credentials(env, profile, files, /*use_environment=*/!overrides.profile.has_value());
  return cfg;
}

}  // namespace smp::s3
