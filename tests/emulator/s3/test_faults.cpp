// Faults injected by an in-process proxy between the client and s3rver: transient ones are
// retried and the result is byte-identical; persistent ones give a clear error and leave nothing
// partial on disk (no object file, no temp file, no directory the download created).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "emulator/s3/error.h"
#include "emulator/s3/transfer.h"
#include "tests/emulator/s3/support/fault_proxy.h"
#include "tests/emulator/s3/support/s3_test_env.h"
#include "tests/emulator/s3/support/temp_dir.h"

using namespace smp::s3;
using namespace smp::s3::testing;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) ++n;
  return n;
}

TransferOptions small_parts() {
  TransferOptions o;
  o.part_size = 1u << 20;
  o.multipart_threshold = 2u << 20;
  o.concurrency = 4;
  return o;
}

struct Fixture {
  explicit Fixture(const TestServer& s) : server(s), direct(client_config(s)), proxy(s.endpoint) {
    bucket = fresh_bucket(direct, "faults");
  }
  Client through_proxy(int attempts = 5) {
    ClientConfig cfg = client_config(server, proxy.endpoint());
    cfg.retry.max_attempts = attempts;
    return Client(cfg);
  }
  const TestServer& server;
  Client direct;
  FaultProxy proxy;
  std::string bucket;
};

}  // namespace

TEST_CASE("503 and SlowDown answers are retried", "[s3][faults]") {
  SMP_REQUIRE_S3(server, false);
  Fixture f(server);
  f.direct.put_object(f.bucket, "small.txt", "hello");
  ClientConfig cfg = client_config(server, f.proxy.endpoint());
  Client client(cfg);
  f.proxy.add({FaultKind::kStatus, "GET", "small.txt", 2, 503, "ServiceUnavailable", ""});
  CHECK(client.get_object(f.bucket, "small.txt") == "hello");
  CHECK(f.proxy.injected() == 2);

  f.proxy.add({FaultKind::kStatus, "PUT", "slow.txt", 3, 503, "SlowDown", ""});
  client.put_object(f.bucket, "slow.txt", "after throttling");
  CHECK(f.direct.get_object(f.bucket, "slow.txt") == "after throttling");
  CHECK(f.proxy.injected() == 5);

  f.proxy.add({FaultKind::kStatus, "GET", "list-type=2", 1, 500, "InternalError", ""});
  CHECK(client.list_objects(f.bucket, "").size() == 2);
  CHECK(f.proxy.injected() == 6);
}

TEST_CASE("a reset mid-body and a truncated body are retried; the file is byte-identical", "[s3][faults]") {
  SMP_REQUIRE_S3(server, false);
  Fixture f(server);
  const std::string data = pattern_bytes(5u << 20, 3);
  f.direct.put_object(f.bucket, "obj/five.bin", data);
  f.direct.put_object(f.bucket, "obj/small.bin", data.substr(0, 100000));
  Client client = f.through_proxy();
  TempDir dir;

  SECTION("ranged parts") {
    f.proxy.add({FaultKind::kResetMidBody, "GET", "five.bin", 2, 0, "", ""});
    f.proxy.add({FaultKind::kTruncateBody, "GET", "five.bin", 2, 0, "", ""});
    client.download_file(f.bucket, "obj/five.bin", dir / "five.bin", small_parts());
    CHECK(f.proxy.injected() == 4);
    CHECK(read_file(dir / "five.bin") == data);
    CHECK(count_entries(dir.path()) == 1);  // no temp file left behind
  }
  SECTION("single GET") {
    f.proxy.add({FaultKind::kTruncateBody, "GET", "small.bin", 1, 0, "", ""});
    f.proxy.add({FaultKind::kResetMidBody, "GET", "small.bin", 1, 0, "", ""});
    client.download_file(f.bucket, "obj/small.bin", dir / "small.bin", small_parts());
    CHECK(f.proxy.injected() == 2);
    CHECK(read_file(dir / "small.bin") == data.substr(0, 100000));
    CHECK(count_entries(dir.path()) == 1);
  }
  SECTION("in-memory GET") {
    f.proxy.add({FaultKind::kTruncateBody, "GET", "small.bin", 2, 0, "", ""});
    CHECK(client.get_object(f.bucket, "obj/small.bin") == data.substr(0, 100000));
  }
}

TEST_CASE("persistent faults give a clear error and leave nothing on disk", "[s3][faults]") {
  SMP_REQUIRE_S3(server, false);
  Fixture f(server);
  const std::string data = pattern_bytes(5u << 20, 9);
  f.direct.put_object(f.bucket, "a/ok.bin", "fine");
  f.direct.put_object(f.bucket, "a/five.bin", data);
  Client client = f.through_proxy(3);
  TempDir dir;
  const std::vector<DownloadItem> batch = {
      {f.bucket, "a/ok.bin", 4, "", dir / "new/deeper/ok.bin"},
      {f.bucket, "a/five.bin", data.size(), "", dir / "new/deeper/five.bin"},
  };
  TransferOptions opts = small_parts();

  SECTION("503 forever") {
    f.proxy.add({FaultKind::kStatus, "GET", "five.bin", -1, 503, "SlowDown", ""});
    try {
      TransferManager(client, opts).download(batch);
      FAIL("download succeeded");
    } catch (const S3Error& e) {
      CHECK(e.retryable());
      CHECK(e.code() == "SlowDown");
      CHECK_THAT(e.what(), ContainsSubstring("after 3 attempts"));
      CHECK_THAT(e.what(), ContainsSubstring("s3://" + f.bucket + "/a/five.bin"));
      CHECK_THAT(e.what(), ContainsSubstring("AWS_MAX_ATTEMPTS"));
    }
  }
  SECTION("reset mid-body forever") {
    f.proxy.add({FaultKind::kResetMidBody, "GET", "five.bin", -1, 0, "", ""});
    opts.concurrency = 1;  // the object's early parts complete before the failure
    try {
      TransferManager(client, opts).download(batch);
      FAIL("download succeeded");
    } catch (const S3Error& e) {
      CHECK(e.retryable());
      CHECK_THAT(e.what(), ContainsSubstring("five.bin"));
    }
  }
  // ok.bin had completed, but the failed batch is rolled back; the directories it made are gone.
  CHECK(count_entries(dir.path()) == 0);
}

TEST_CASE("a failed multipart upload is aborted and creates no object", "[s3][faults]") {
  SMP_REQUIRE_S3(server, false);
  Fixture f(server);
  Client client = f.through_proxy(2);
  TempDir dir;
  write_file(dir / "model.tar.gz", pattern_bytes(11u << 20, 4));
  f.proxy.add({FaultKind::kStatus, "PUT", "partNumber=2", -1, 500, "InternalError", ""});
  TransferOptions opts;
  opts.part_size = 5u << 20;
  opts.multipart_threshold = 5u << 20;
  try {
    client.put_file(f.bucket, "out/model.tar.gz", dir / "model.tar.gz", opts);
    FAIL("upload succeeded");
  } catch (const S3Error& e) {
    CHECK(e.code() == "InternalError");
    CHECK_THAT(e.what(), ContainsSubstring("UploadPart"));
  }
  CHECK_FALSE(f.direct.head_object(f.bucket, "out/model.tar.gz"));
  f.proxy.clear();
  // The same upload goes through once the fault is transient.
  f.proxy.add({FaultKind::kStatus, "PUT", "partNumber=3", 1, 503, "SlowDown", ""});
  client.put_file(f.bucket, "out/model.tar.gz", dir / "model.tar.gz", opts);
  CHECK(f.direct.get_object(f.bucket, "out/model.tar.gz") == read_file(dir / "model.tar.gz"));
}
