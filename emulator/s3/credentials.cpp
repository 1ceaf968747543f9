#include "emulator/s3/credentials.h"

#include <vector>

#include "emulator/s3/error.h"

namespace smp::s3 {

namespace {

using Section = std::map<std::string, std::string>;

std::string get(const Section& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? std::string() : it->second;
}

// Credential sources a profile may name that this client does not implement.
constexpr const char* kUnsupportedKeys[] = {"role_arn",        "source_profile",
                                            "credential_process", "sso_session",
                                            "sso_start_url",   "web_identity_token_file",
                                            "credential_source"};

std::optional<Credentials> from_section(const Section* s, const std::string& where) {
  if (!s) return std::nullopt;
  const std::string id = get(*s, "aws_access_key_id");
  const std::string secret = get(*s, "aws_secret_access_key");
  if (id.empty() && secret.empty()) return std::nullopt;
  if (id.empty() || secret.empty())
    throw S3Error("incomplete AWS credentials in " + where + ": it sets " +
                      (id.empty() ? "aws_secret_access_key but not aws_access_key_id"
                                  : "aws_access_key_id but not aws_secret_access_key") +
                      ". Add the missing line (or run `aws configure`)",
                  0, "NoCredentials");
  Credentials c;
  c.access_key_id = id;
  c.secret_access_key = secret;
  c.session_token = get(*s, "aws_session_token");
  if (c.session_token.empty()) c.session_token = get(*s, "aws_security_token");
  c.source = where;
  return c;
}

void refuse_unsupported(const Section* s, const std::string& where, const std::string& profile) {
  if (!s) return;
  for (const char* key : kUnsupportedKeys) {
    if (s->count(key))
      throw S3Error("the AWS profile '" + profile + "' in " + where + " gets its credentials via '" +
                        key + "', which smp-local's S3 client does not implement. Export static "
                        "credentials instead, e.g. `eval \"$(aws configure export-credentials "
                        "--profile " + profile + " --format env)\"`",
                    0, "UnsupportedCredentials");
  }
}

}  // namespace

AwsFiles AwsFiles::load(const EnvLookup& env) {
  AwsFiles files;
  // Without HOME the default files are not looked for (a relative ".aws/..." would read
  // whatever directory the job runs in).
  const auto home = env("HOME");
  auto locate = [&](const char* variable, const char* default_name) -> std::filesystem::path {
    if (auto explicit_path = env(variable)) return *explicit_path;
    if (home) return std::filesystem::path(*home) / default_name;
    return {};
  };
  files.credentials_path = locate("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
  files.config_path = locate("AWS_CONFIG_FILE", ".aws/config");
  if (!files.credentials_path.empty()) files.credentials = IniFile::load(files.credentials_path);
  if (!files.config_path.empty()) files.config = IniFile::load(files.config_path);
  if (files.credentials_path.empty()) files.credentials_path = "~/.aws/credentials (HOME is not set)";
  if (files.config_path.empty()) files.config_path = "~/.aws/config (HOME is not set)";
  return files;
}

const std::map<std::string, std::string>* AwsFiles::config_profile(const std::string& profile) const {
  if (!config) return nullptr;
  if (const auto* s = config->section("profile " + profile)) return s;
  // The CLI accepts "[default]" (and, for the default profile only, "[profile default]").
  return profile == "default" ? config->section("default") : nullptr;
}

std::string effective_profile(const std::optional<std::string>& explicit_profile,
                              const EnvLookup& env) {
  if (explicit_profile && !explicit_profile->empty()) return *explicit_profile;
  if (auto p = env("AWS_PROFILE")) return *p;
  if (auto p = env("AWS_DEFAULT_PROFILE")) return *p;
  return "default";
}

Credentials resolve_credentials(const EnvLookup& env, const std::string& profile,
                                const AwsFiles& files, bool use_environment) {
  // 1. Environment.
  const auto id = use_environment ? env("AWS_ACCESS_KEY_ID") : std::nullopt;
  const auto secret = use_environment ? env("AWS_SECRET_ACCESS_KEY") : std::nullopt;
  if (id && secret) {
    Credentials c;
    c.access_key_id = *id;
    c.secret_access_key = *secret;
    c.session_token = env("AWS_SESSION_TOKEN").value_or(env("AWS_SECURITY_TOKEN").value_or(""));
    c.source = "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
    return c;
  }
  if (id || secret)
    throw S3Error(std::string("incomplete AWS credentials in the environment: ") +
                      (id ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                          : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
                      ". Export both, or unset both to use ~/.aws/credentials",
                  0, "NoCredentials");

  // 2. Shared credentials file, 3. config file.
  const std::string cred_where =
      "the shared credentials file " + files.credentials_path.string() + " [" + profile + "]";
  const Section* cred_section = files.credentials ? files.credentials->section(profile) : nullptr;
  const std::string conf_where = "the config file " + files.config_path.string() + " [" +
                                 (profile == "default" ? profile : "profile " + profile) + "]";
  const Section* conf_section = files.config_profile(profile);
  if (auto c = from_section(cred_section, cred_where)) return *c;
  if (auto c = from_section(conf_section, conf_where)) return *c;
  refuse_unsupported(cred_section, cred_where, profile);
  refuse_unsupported(conf_section, conf_where, profile);

  auto describe = [](const std::optional<IniFile>& file, const Section* section) {
    if (!file) return std::string(" (file not found)");
    if (!section) return std::string(" (no such section)");
    return std::string(" (no aws_access_key_id/aws_secret_access_key)");
  };
  std::string looked = std::string("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY ") +
                       (use_environment ? "(unset); " : "(not used with an explicit profile); ") +
                       cred_where + describe(files.credentials, cred_section) + "; " + conf_where +
                       describe(files.config, conf_section);
  const bool named = profile != "default";
  if (named && !cred_section && !conf_section)
    throw S3Error("the AWS profile '" + profile + "' (from AWS_PROFILE or --profile) does not exist: "
                      "looked in " + looked + ". Fix the profile name or create it with "
                      "`aws configure --profile " + profile + "`",
                  0, "NoCredentials");
  throw S3Error("no AWS credentials found for S3: looked in " + looked +
                    ". Export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
                    "for temporary credentials), or run `aws configure`. Instance-metadata, SSO "
                    "and assume-role credentials are not supported",
                0, "NoCredentials");
}

}  // namespace smp::s3
