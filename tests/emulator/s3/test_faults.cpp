// Faults injected by an in-process proxy between the client and s3rver: transient ones are
// retried and the result is byte-identical; persistent ones give a clear error and leave nothing
// partial on disk (no object file, no temp file, no directory the download created); a body
// corrupted in transit is caught by the MD5 check. The proxy's request log shows which GETs
// (whole or ranged) a download made.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>

#include "emulator/s3/crypto.h"
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

std::string md5_hex(const std::string& data) {
  Hasher md5(Hasher::Kind::kMd5);
  md5.update(data);
  return to_hex(md5.digest());
}

// The GETs of one object the proxy saw, in arrival order.
std::vector<ProxiedRequest> gets_of(const FaultProxy& proxy, const std::string& key) {
  std::vector<ProxiedRequest> out;
  for (auto& r : proxy.log())
    if (r.method == "GET" && r.target.find(key) != std::string::npos) out.push_back(r);
  return out;
}

std::string part_range(uint64_t part, uint64_t part_size, uint64_t total) {
  const uint64_t first = part * part_size;
  return "bytes=" + std::to_string(first) + "-" +
         std::to_string(std::min(total, first + part_size) - 1);
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

// The MD5 check (check_md5, and the in-order hashing of ranged parts) is the only thing that can
// notice these: the corrupted body has the right length and the right headers. The client does not
// retry a CorruptDownload (the check runs after the GET has succeeded), so one corrupted response
// is enough to fail the download, however many attempts the retry policy allows.
TEST_CASE("a corrupted body fails the download with CorruptDownload, leaving nothing on disk",
          "[s3][faults]") {
  SMP_REQUIRE_S3(server, false);
  Fixture f(server);
  const std::string data = pattern_bytes(5u << 20, 21);
  const std::string small = data.substr(0, 100000);
  f.direct.put_object(f.bucket, "c/five.bin", data);
  f.direct.put_object(f.bucket, "c/small.bin", small);
  // Precondition: verification only runs against a single-part (MD5) ETag, which s3rver gives.
  for (const auto& [key, content] :
       {std::pair{"c/five.bin", &data}, std::pair{"c/small.bin", &small}}) {
    const auto head = f.direct.head_object(f.bucket, key);
    REQUIRE(head);
    REQUIRE(head->etag_is_md5());
    REQUIRE(head->etag == md5_hex(*content));
  }
  Client client = f.through_proxy(5);
  TempDir dir;
  const TransferOptions opts = small_parts();  // five.bin: 5 ranged GETs of 1 MiB; small.bin: 1 GET

  auto expect_corrupt = [&](const std::string& key) {
    // CHECK, not FAIL: a broken check shows in every section and every generated part.
    bool failed = false;
    try {
      client.download_file(f.bucket, key, dir / "out/x.bin", opts);
    } catch (const S3Error& e) {
      failed = true;
      CHECK(e.code() == "CorruptDownload");
      CHECK_FALSE(e.retryable());
      CHECK(e.key() == key);
      CHECK_THAT(e.what(), ContainsSubstring("s3://" + f.bucket + "/" + key));
      CHECK_THAT(e.what(), ContainsSubstring("MD5"));
    }
    CHECK(failed);
    // No final file, no temp file, not even the directory the download created.
    CHECK(count_entries(dir.path()) == 0);
  };

  SECTION("single GET, corrupted on every attempt") {
    f.proxy.add({FaultKind::kCorruptBody, "GET", "small.bin", -1, 0, "", ""});
    expect_corrupt("c/small.bin");
    const auto gets = gets_of(f.proxy, "small.bin");
    REQUIRE(gets.size() == 1);  // not retried
    CHECK(gets[0].range.empty());
    CHECK(gets[0].injected);
  }
  SECTION("single GET, one corrupted attempt: not retried; the next download is byte-identical") {
    f.proxy.add({FaultKind::kCorruptBody, "GET", "small.bin", 1, 0, "", ""});
    expect_corrupt("c/small.bin");
    CHECK(f.proxy.injected() == 1);
    CHECK(gets_of(f.proxy, "small.bin").size() == 1);
    client.download_file(f.bucket, "c/small.bin", dir / "out/x.bin", opts);
    CHECK(read_file(dir / "out/x.bin") == small);
    CHECK(count_entries(dir.path()) == 2);  // out/ and out/x.bin
  }
  SECTION("ranged GETs, one part corrupted") {
    const uint64_t part = GENERATE(0u, 2u, 4u);  // the first, a middle and the last of 5 parts
    INFO("corrupted part " << part);
    const std::string range = part_range(part, opts.part_size, data.size());
    f.proxy.add({FaultKind::kCorruptBody, "GET", "five.bin", -1, 0, "", ""}, range);
    expect_corrupt("c/five.bin");
    const auto gets = gets_of(f.proxy, "five.bin");
    CHECK(gets.size() == 5);  // every part fetched once; the corrupted one not again
    CHECK(std::count_if(gets.begin(), gets.end(),
                        [&](const ProxiedRequest& r) { return r.range == range; }) == 1);
    CHECK(f.proxy.injected() == 1);
  }
  SECTION("ranged GETs, one corrupted attempt: the next download is byte-identical") {
    f.proxy.add({FaultKind::kCorruptBody, "GET", "five.bin", 1, 0, "", ""},
                part_range(3, opts.part_size, data.size()));
    expect_corrupt("c/five.bin");
    client.download_file(f.bucket, "c/five.bin", dir / "out/x.bin", opts);
    CHECK(read_file(dir / "out/x.bin") == data);
    CHECK(count_entries(dir.path()) == 2);
  }
  SECTION("with verify_md5 off the corruption goes through unnoticed (the proxy really corrupts)") {
    f.proxy.add({FaultKind::kCorruptBody, "GET", "five.bin", -1, 0, "", ""},
                part_range(2, opts.part_size, data.size()));
    TransferOptions unverified = opts;
    unverified.verify_md5 = false;
    client.download_file(f.bucket, "c/five.bin", dir / "x.bin", unverified);
    const std::string got = read_file(dir / "x.bin");
    REQUIRE(got.size() == data.size());
    CHECK(got != data);
    // Only part 2's bytes differ.
    const size_t first_diff =
        std::mismatch(got.begin(), got.end(), data.begin()).first - got.begin();
    const size_t last_diff =
        got.size() - (std::mismatch(got.rbegin(), got.rend(), data.rbegin()).first - got.rbegin());
    CHECK(first_diff >= 2 * opts.part_size);
    CHECK(last_diff <= 3 * opts.part_size);
  }
}

TEST_CASE("a large download is distinct ranged GETs covering the object; a small one, one GET",
          "[s3][faults]") {
  SMP_REQUIRE_S3(server, false);
  Fixture f(server);
  const std::string data = pattern_bytes((5u << 20) + 12345, 22);  // 6 parts, the last one short
  f.direct.put_object(f.bucket, "r/big.bin", data);
  f.direct.put_object(f.bucket, "r/small.bin", data.substr(0, 100000));
  Client client = f.through_proxy();
  TempDir dir;
  const TransferOptions opts = small_parts();

  client.download_file(f.bucket, "r/big.bin", dir / "big.bin", opts);
  CHECK(read_file(dir / "big.bin") == data);
  std::vector<ByteRange> ranges;
  for (const auto& r : gets_of(f.proxy, "big.bin")) {
    INFO("GET " << r.target << " Range: " << r.range);
    const auto range = parse_byte_range(r.range);
    REQUIRE(range);
    ranges.push_back(*range);
  }
  REQUIRE(ranges.size() == 6);
  std::sort(ranges.begin(), ranges.end(), [](auto& a, auto& b) { return a.first < b.first; });
  // Distinct, contiguous, part_size each (but the tail), from byte 0 to the last byte.
  uint64_t next = 0;
  for (const auto& r : ranges) {
    CHECK(r.first == next);
    CHECK(r.last >= r.first);
    CHECK(r.last - r.first + 1 == std::min<uint64_t>(opts.part_size, data.size() - r.first));
    next = r.last + 1;
  }
  CHECK(next == data.size());

  client.download_file(f.bucket, "r/small.bin", dir / "small.bin", opts);
  CHECK(read_file(dir / "small.bin") == data.substr(0, 100000));
  const auto small_gets = gets_of(f.proxy, "small.bin");
  REQUIRE(small_gets.size() == 1);
  CHECK(small_gets[0].range.empty());
}
