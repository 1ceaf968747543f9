#include "tests/emulator/s3/support/s3_test_env.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace smp::s3::testing {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::optional<TestServer> test_server(bool verifying, std::string* why) {
  TestServer s;
  const char* endpoint_var = verifying ? "SMP_TEST_S3V4_ENDPOINT" : "SMP_TEST_S3_ENDPOINT";
  s.endpoint = env_or_empty(endpoint_var);
  s.access_key_id = env_or_empty("SMP_TEST_S3_ACCESS_KEY_ID");
  s.secret_access_key = env_or_empty("SMP_TEST_S3_SECRET_ACCESS_KEY");
  s.region = env_or_empty("SMP_TEST_S3_REGION");
  s.awscli = env_or_empty("SMP_TEST_AWSCLI");
  if (s.region.empty()) s.region = "us-east-1";
  if (s.awscli.empty()) s.awscli = "/usr/bin/aws";
  if (s.endpoint.empty() || s.access_key_id.empty() || s.secret_access_key.empty()) {
    if (why)
      *why = std::string(endpoint_var) +
             " is not set: start the local S3 servers with scripts/s3/start-servers.sh and load "
             "its env file (scripts/test.sh does both)";
    return std::nullopt;
  }
  return s;
}

ClientConfig client_config(const TestServer& server, const std::string& endpoint_override) {
  ClientConfig cfg;
  cfg.endpoint = Endpoint::parse(endpoint_override.empty() ? server.endpoint : endpoint_override);
  cfg.endpoint_source = "test server";
  cfg.region = server.region;
  cfg.credentials.access_key_id = server.access_key_id;
  cfg.credentials.secret_access_key = server.secret_access_key;
  cfg.credentials.source = "test environment";
  cfg.retry.base_delay = std::chrono::milliseconds(20);
  cfg.retry.max_delay = std::chrono::milliseconds(200);
  return cfg;
}

std::string fresh_bucket(Client& client, const std::string& stem) {
  static std::atomic<int> counter{0};
  std::mt19937 rng(std::random_device{}());
  std::string name = "t-" + stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                     "-" + std::to_string(rng() % 100000);
  if (name.size() > 63) name = name.substr(name.size() - 63);
  if (name.front() == '-') name.front() = 't';
  client.create_bucket(name);
  return name;
}

ProcessResult run_awscli(const TestServer& server, const std::vector<std::string>& args,
                         const std::string& endpoint_override) {
  std::vector<std::string> argv{server.awscli, "--endpoint-url",
                                endpoint_override.empty() ? server.endpoint : endpoint_override};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envs{
      "PATH=" + env_or_empty("PATH"),
      "HOME=" + (env_or_empty("HOME").empty() ? std::string("/tmp") : env_or_empty("HOME")),
      "LANG=C.UTF-8",
      "AWS_ACCESS_KEY_ID=" + server.access_key_id,
      "AWS_SECRET_ACCESS_KEY=" + server.secret_access_key,
      "AWS_DEFAULT_REGION=" + server.region,
      "AWS_CONFIG_FILE=/dev/null",
      "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
      "AWS_PAGER=",
  };
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  int pipefd[2];
  if (::pipe(pipefd) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  ProcessResult result;
  if (rc != 0) {
    ::close(pipefd[0]);
    result.output = "cannot start " + argv[0];
    return result;
  }
  char buf[4096];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) result.output.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string pattern_bytes(size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::mt19937_64 rng(seed);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    const uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < size; ++i) out[i] = static_cast<char>(rng());
  return out;
}

}  // namespace smp::s3::testing
