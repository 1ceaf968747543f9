#pragma once
// The `s3` tests' view of the servers scripts/s3/start-servers.sh started: endpoints and test
// credentials from the environment (tests SKIP when absent), clients, unique buckets, and Debian's
// awscli run as an independent client (spawned with an argv vector).

#include <optional>
#include <string>
#include <vector>

#include "emulator/s3/client.h"

namespace smp::s3::testing {

struct TestServer {
  std::string endpoint;
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
  std::string awscli;
};

// verifying = the SigV4-checking server. nullopt (with `why` filled) when not configured.
std::optional<TestServer> test_server(bool verifying, std::string* why);

// SKIPs the running test case, saying how to start the servers, when they are not configured.
#define SMP_REQUIRE_S3(name, verifying)                                                    \
  std::string name##_why;                                                                  \
  const auto name##_opt = ::smp::s3::testing::test_server(verifying, &name##_why);         \
  if (!name##_opt) SKIP(name##_why);                                                       \
  const ::smp::s3::testing::TestServer& name = *name##_opt

ClientConfig client_config(const TestServer& server, const std::string& endpoint_override = {});
// A bucket name no other test (or earlier run) uses; created on the server.
std::string fresh_bucket(Client& client, const std::string& stem);

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs `awscli --endpoint-url <endpoint> args...` with only the test credentials in its
// environment (no config files, no pager).
ProcessResult run_awscli(const TestServer& server, const std::vector<std::string>& args,
                         const std::string& endpoint_override = {});

// Deterministic pseudo-random content of `size` bytes.
std::string pattern_bytes(size_t size, unsigned seed);

}  // namespace smp::s3::testing
