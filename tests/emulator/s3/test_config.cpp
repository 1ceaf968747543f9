// The endpoint / region / credential chain, with temporary HOME and AWS files and a map for the
// environment. Also checks that no message ever carries a secret.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "emulator/s3/config.h"
#include "emulator/s3/error.h"
#include "tests/emulator/s3/support/temp_dir.h"

using namespace smp::s3;
using smp::s3::testing::TempDir;
using smp::s3::testing::write_file;
using Catch::Matchers::ContainsSubstring;

namespace {

constexpr const char* kSecret = "SeCrEt/abc+123-never-print-me";

S3Error config_error(const ConfigOverrides& o, std::map<std::string, std::string> env) {
  try {
    resolve_config(o, map_environment(std::move(env)));
  } catch (const S3Error& e) {
    return e;
  }
  FAIL("resolve_config did not throw");
  throw;
}

}  // namespace

TEST_CASE("environment credentials win, with the session token", "[config]") {
  TempDir home;
  write_file(home / ".aws/credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  auto cfg = resolve_config({}, map_environment({{"HOME", home.path().string()},
                                                 {"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                                 {"AWS_SECRET_ACCESS_KEY", kSecret},
                                                 {"AWS_SESSION_TOKEN", "tok"}}));
  CHECK(cfg.credentials.access_key_id == "ENVKEY");
  CHECK(cfg.credentials.secret_access_key == kSecret);
  CHECK(cfg.credentials.session_token == "tok");
  CHECK_THAT(cfg.credentials.source, ContainsSubstring("environment"));
  CHECK_THAT(cfg.describe(), !ContainsSubstring(kSecret));
  CHECK_THAT(cfg.describe(), ContainsSubstring("ENVKEY"));
}

TEST_CASE("half of the environment pair is an error that names the missing half", "[config]") {
  auto e = config_error({}, {{"HOME", "/nonexistent"}, {"AWS_SECRET_ACCESS_KEY", kSecret}});
  CHECK(e.code() == "NoCredentials");
  CHECK_THAT(e.what(), ContainsSubstring("AWS_ACCESS_KEY_ID is not"));
  CHECK_THAT(e.what(), !ContainsSubstring(kSecret));
}

TEST_CASE("shared credentials file, default and named profiles", "[config]") {
  TempDir home;
  write_file(home / ".aws/credentials",
             "# comment\n[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n\n"
             "[dev]\naws_access_key_id=DEVKEY\naws_secret_access_key=devsecret\naws_session_token = devtok\n");
  write_file(home / ".aws/config", "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n");
  auto def = resolve_config({}, map_environment({{"HOME", home.path().string()}}));
  CHECK(def.credentials.access_key_id == "DEFKEY");
  CHECK(def.region == "eu-west-1");
  CHECK(def.endpoint.url() == "https://s3.eu-west-1.amazonaws.com");

  auto dev = resolve_config({}, map_environment({{"HOME", home.path().string()}, {"AWS_PROFILE", "dev"}}));
  CHECK(dev.credentials.access_key_id == "DEVKEY");
  CHECK(dev.credentials.session_token == "devtok");
  CHECK(dev.region == "ap-south-1");
  CHECK_THAT(dev.credentials.source, ContainsSubstring("[dev]"));

  // An explicit profile skips the environment's keys, as `aws --profile` does.
  ConfigOverrides o;
  o.profile = "dev";
  auto expl = resolve_config(o, map_environment({{"HOME", home.path().string()},
                                                 {"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                                 {"AWS_SECRET_ACCESS_KEY", kSecret}}));
  CHECK(expl.credentials.access_key_id == "DEVKEY");
}

TEST_CASE("config-file credentials under [profile name], files from the environment", "[config]") {
  TempDir dir;
  write_file(dir / "conf", "[profile ci]\naws_access_key_id = CIKEY\naws_secret_access_key = cisecret\n"
                           "region = us-west-2\ns3 =\n  addressing_style = path\n");
  auto cfg = resolve_config({}, map_environment({{"HOME", "/nonexistent"},
                                                 {"AWS_CONFIG_FILE", (dir / "conf").string()},
                                                 {"AWS_SHARED_CREDENTIALS_FILE", (dir / "none").string()},
                                                 {"AWS_PROFILE", "ci"}}));
  CHECK(cfg.credentials.access_key_id == "CIKEY");
  CHECK(cfg.region == "us-west-2");
  CHECK(cfg.addressing == Addressing::kPath);
  CHECK_THAT(cfg.credentials.source, ContainsSubstring("[profile ci]"));
}

TEST_CASE("missing credentials name every place looked and the fix", "[config]") {
  TempDir home;
  auto e = config_error({}, {{"HOME", home.path().string()}});
  CHECK(e.code() == "NoCredentials");
  CHECK_THAT(e.what(), ContainsSubstring("AWS_ACCESS_KEY_ID"));
  CHECK_THAT(e.what(), ContainsSubstring((home / ".aws/credentials").string()));
  CHECK_THAT(e.what(), ContainsSubstring((home / ".aws/config").string()));
  CHECK_THAT(e.what(), ContainsSubstring("aws configure"));

  auto named = config_error({}, {{"HOME", home.path().string()}, {"AWS_PROFILE", "nosuch"}});
  CHECK_THAT(named.what(), ContainsSubstring("'nosuch'"));
  CHECK_THAT(named.what(), ContainsSubstring("does not exist"));
}

TEST_CASE("without HOME the default files are not read from the working directory", "[config]") {
  TempDir cwd;
  write_file(cwd / ".aws/credentials", "[default]\naws_access_key_id = CWDKEY\naws_secret_access_key = s\n");
  const auto before = std::filesystem::current_path();
  std::filesystem::current_path(cwd.path());
  std::string message;
  try {
    resolve_config({}, map_environment({}));
  } catch (const S3Error& e) {
    message = e.what();
  }
  std::filesystem::current_path(before);
  CHECK_THAT(message, ContainsSubstring("HOME is not set"));
}

TEST_CASE("profiles that need assume-role or SSO are refused with a workaround", "[config]") {
  TempDir home;
  write_file(home / ".aws/config", "[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  auto e = config_error({}, {{"HOME", home.path().string()}, {"AWS_PROFILE", "r"}});
  CHECK(e.code() == "UnsupportedCredentials");
  CHECK_THAT(e.what(), ContainsSubstring("export-credentials"));
}

TEST_CASE("an incomplete file profile never echoes its secret", "[config]") {
  TempDir home;
  write_file(home / ".aws/credentials", std::string("[default]\naws_secret_access_key = ") + kSecret + "\n");
  auto e = config_error({}, {{"HOME", home.path().string()}});
  CHECK_THAT(e.what(), ContainsSubstring("aws_access_key_id"));
  CHECK_THAT(e.what(), !ContainsSubstring(kSecret));
}

TEST_CASE("endpoint precedence: explicit, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS", "[config]") {
  std::map<std::string, std::string> env{{"AWS_ACCESS_KEY_ID", "K"},
                                         {"AWS_SECRET_ACCESS_KEY", "S"},
                                         {"AWS_ENDPOINT_URL", "http://general:1"},
                                         {"AWS_ENDPOINT_URL_S3", "http://s3only:2"},
                                         {"AWS_REGION", "eu-central-1"},
                                         {"AWS_DEFAULT_REGION", "us-west-1"},
                                         {"HOME", "/nonexistent"}};
  ConfigOverrides o;
  o.endpoint_url = "http://127.0.0.1:9000/";
  CHECK(resolve_config(o, map_environment(env)).endpoint.url() == "http://127.0.0.1:9000");
  auto s3only = resolve_config({}, map_environment(env));
  CHECK(s3only.endpoint.url() == "http://s3only:2");
  CHECK(s3only.endpoint_source == "AWS_ENDPOINT_URL_S3");
  CHECK(s3only.region == "eu-central-1");
  env.erase("AWS_ENDPOINT_URL_S3");
  CHECK(resolve_config({}, map_environment(env)).endpoint.url() == "http://general:1");
  env.erase("AWS_ENDPOINT_URL");
  env.erase("AWS_REGION");
  auto aws = resolve_config({}, map_environment(env));
  CHECK(aws.region == "us-west-1");
  CHECK(aws.endpoint.url() == "https://s3.us-west-1.amazonaws.com");
  env.erase("AWS_DEFAULT_REGION");
  CHECK(resolve_config({}, map_environment(env)).region == "us-east-1");
  env["AWS_MAX_ATTEMPTS"] = "7";
  CHECK(resolve_config({}, map_environment(env)).retry.max_attempts == 7);
  env["AWS_MAX_ATTEMPTS"] = "lots";
  CHECK_THROWS_AS(resolve_config({}, map_environment(env)), S3Error);
}

TEST_CASE("endpoint URLs parse, and bad ones say how to write them", "[config]") {
  auto e = Endpoint::parse("HTTPS://Example.com:8443/base/");
  CHECK(e.scheme == "https");
  CHECK(e.host == "example.com");
  CHECK(e.port == 8443);
  CHECK(e.base_path == "/base");
  CHECK(e.url() == "https://example.com:8443/base");
  CHECK(Endpoint::parse("http://h:80").host_header() == "h");
  CHECK(Endpoint::parse("http://[::1]:9000").host == "[::1]");
  CHECK(Endpoint::parse("http://[::1]:9000").is_ip());
  for (const char* bad : {"127.0.0.1:9000", "ftp://x", "http://:80", "http://h:0", "http://h:x"}) {
    try {
      Endpoint::parse(bad);
      FAIL(bad);
    } catch (const S3Error& err) {
      CHECK(err.code() == "InvalidEndpoint");
      CHECK_THAT(err.what(), ContainsSubstring("http(s)://host[:port]"));
    }
  }
}

TEST_CASE("auto addressing: virtual only for AWS endpoints and DNS-compatible buckets", "[config]") {
  ClientConfig cfg;
  cfg.endpoint = Endpoint::parse("https://s3.us-east-1.amazonaws.com");
  CHECK(cfg.virtual_hosted("my-bucket"));
  CHECK_FALSE(cfg.virtual_hosted("my.bucket"));  // TLS wildcard would not match
  CHECK_FALSE(cfg.virtual_hosted("My_Bucket"));
  cfg.endpoint = Endpoint::parse("http://s3.us-east-1.amazonaws.com");
  CHECK(cfg.virtual_hosted("my.bucket"));
  cfg.endpoint = Endpoint::parse("http://127.0.0.1:9000");
  CHECK_FALSE(cfg.virtual_hosted("my-bucket"));
  cfg.endpoint = Endpoint::parse("http://minio.local:9000");
  CHECK_FALSE(cfg.virtual_hosted("my-bucket"));
  cfg.addressing = Addressing::kVirtual;
  CHECK(cfg.virtual_hosted("my-bucket"));
  cfg.endpoint = Endpoint::parse("https://s3.us-east-1.amazonaws.com");
  cfg.addressing = Addressing::kPath;
  CHECK_FALSE(cfg.virtual_hosted("my-bucket"));
  CHECK(parse_addressing("Virtual") == Addressing::kVirtual);
  CHECK_THROWS_AS(parse_addressing("sideways"), S3Error);
}
