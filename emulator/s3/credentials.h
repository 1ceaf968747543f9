#pragma once
// Credentials and the standard AWS credential chain: environment, then the shared credentials
// file, then the config file, for the profile named by AWS_PROFILE (or an explicit one).

#include <filesystem>
#include <optional>
#include <string>

#include "emulator/s3/env.h"
#include "emulator/s3/ini.h"

namespace smp::s3 {

// An access key pair. `secret_access_key` is only ever handed to the signer: nothing formats it.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  std::string source;         // where they came from, for messages: "environment variables"
};

// The two AWS files, located the way the CLI locates them (AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE, else $HOME/.aws/credentials and $HOME/.aws/config).
struct AwsFiles {
  std::filesystem::path credentials_path;
  std::filesystem::path config_path;
  std::optional<IniFile> credentials;
  std::optional<IniFile> config;

  static AwsFiles load(const EnvLookup& env);
  // The profile's section of the config file ("[default]" or "[profile NAME]"), or null.
  const std::map<std::string, std::string>* config_profile(const std::string& profile) const;
};

// The profile in effect: explicit, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
std::string effective_profile(const std::optional<std::string>& explicit_profile,
                              const EnvLookup& env);

// Walks the chain; throws S3Error (code "NoCredentials" or "UnsupportedCredentials") naming
// every place it looked and how to provide credentials. An explicitly chosen profile skips the
// environment variables, as `aws --profile` does.
Credentials resolve_credentials(const EnvLookup& env, const std::string& profile,
                                const AwsFiles& files, bool use_environment = true);

}  // namespace smp::s3
