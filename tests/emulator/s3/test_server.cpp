// The client against real local S3 servers (s3rver 3, and the SigV4-verifying s3rver 5), with
// Debian's awscli as the independent client that seeds objects and reads ours back.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <set>

#include "emulator/s3/error.h"
#include "emulator/s3/transfer.h"
#include "tests/emulator/s3/support/fault_proxy.h"
#include "tests/emulator/s3/support/s3_test_env.h"
#include "tests/emulator/s3/support/temp_dir.h"

using namespace smp::s3;
using namespace smp::s3::testing;
using Catch::Matchers::ContainsSubstring;

namespace {

// Keys whose every byte class needs care in paths, queries and XML.
const std::vector<std::string> kAwkwardKeys = {
    "dir with spaces/file name.txt",
    "plus+sign/a+b.csv",
    "equals=and&amp/x=1&y=2.bin",
    "percent%20literal/100%.txt",
    "unicode/\xC3\xA9t\xC3\xA9-\xE6\x97\xA5\xE6\x9C\xAC-\xE1\x88\xB4.txt",
    "symbols/!'()*,;:@$.dat",
    "tilde~and-dash_/under_score.txt",
};

std::string awscli_cat(const TestServer& server, const std::string& bucket, const std::string& key,
                       const TempDir& dir) {
  const auto local = dir / "awscli-read";
  const auto r = run_awscli(server, {"s3", "cp", "--only-show-errors", "s3://" + bucket + "/" + key,
                                     local.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return read_file(local);
}

void awkward_round_trip(const TestServer& server, bool check_listing_amp) {
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "awkward");
  TempDir dir;
  for (size_t i = 0; i < kAwkwardKeys.size(); ++i) {
    const std::string& key = kAwkwardKeys[i];
    INFO("key: " << key);
    client.put_object(bucket, key, "content of " + key);
    CHECK(client.get_object(bucket, key) == "content of " + key);
    auto head = client.head_object(bucket, key);
    REQUIRE(head);
    CHECK(head->size == ("content of " + key).size());
    // Read back by the independent client.
    CHECK(awscli_cat(server, bucket, key, dir) == "content of " + key);
  }
  // Seeded by awscli, read by us.
  write_file(dir / "seed", "seeded by awscli");
  const std::string seeded = "seed dir/a+b=c&d \xC3\xA9.txt";
  auto r = run_awscli(server, {"s3", "cp", "--only-show-errors", (dir / "seed").string(),
                               "s3://" + bucket + "/" + seeded});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(client.get_object(bucket, seeded) == "seeded by awscli");

  // Listing with an awkward prefix (signed query with spaces) and the whole bucket.
  auto sub = client.list_objects(bucket, "dir with spaces/");
  REQUIRE(sub.size() == 1);
  CHECK(sub[0].key == kAwkwardKeys[0]);
  std::set<std::string> expected(kAwkwardKeys.begin(), kAwkwardKeys.end());
  expected.insert(seeded);
  std::set<std::string> listed;
  for (const auto& o : client.list_objects(bucket, "")) listed.insert(o.key);
  if (!check_listing_amp) {
    // @20minutes/s3rver escapes '&' and '\'' twice in listings ("&amp;", "&#x27;": a server bug,
    // toolchain notes): compare the other keys.
    auto drop_amp = [](std::set<std::string> s) {
      std::erase_if(s, [](const std::string& k) { return k.find_first_of("&'") != std::string::npos; });
      return s;
    };
    expected = drop_amp(expected);
    listed = drop_amp(listed);
  }
  CHECK(listed == expected);

  for (const auto& key : kAwkwardKeys) client.delete_object(bucket, key);
  CHECK_FALSE(client.head_object(bucket, kAwkwardKeys[0]));
}

}  // namespace

TEST_CASE("keys with spaces, + = & % and UTF-8 round-trip (s3rver)", "[s3]") {
  SMP_REQUIRE_S3(server, false);
  awkward_round_trip(server, true);
}

TEST_CASE("keys with spaces, + = & % and UTF-8 round-trip under SigV4 verification", "[s3]") {
  SMP_REQUIRE_S3(server, true);
  awkward_round_trip(server, false);
}

TEST_CASE("listings past 1000 keys follow continuation tokens", "[s3]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "pages");
  TempDir dir;
  std::set<std::string> expected;
  for (int i = 0; i < 1100; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "many/f %04d+x.txt", i);
    write_file(dir / name, std::to_string(i));
    expected.insert(name);
  }
  auto r = run_awscli(server, {"s3", "sync", "--only-show-errors", (dir / "many").string(),
                               "s3://" + bucket + "/many"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto first = client.list_objects_page(bucket, "many/");
  CHECK(first.objects.size() == 1000);
  CHECK(first.truncated);
  CHECK_FALSE(first.next_token.empty());
  const auto all = client.list_objects(bucket, "many/");
  std::set<std::string> listed;
  for (const auto& o : all) listed.insert(o.key);
  CHECK(all.size() == 1100);
  CHECK(listed == expected);
  CHECK(std::is_sorted(all.begin(), all.end(),
                       [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; }));
}

TEST_CASE("continuation tokens are signed correctly for the verifying server", "[s3]") {
  SMP_REQUIRE_S3(server, true);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "pages4");
  TransferManager tm(client);
  TempDir dir;
  std::vector<UploadItem> items;
  for (int i = 0; i < 250; ++i) {
    const std::string name = "p q/" + std::to_string(1000 + i) + "+=.txt";
    write_file(dir / name, "x");
    items.push_back({dir / name, bucket, name});
  }
  tm.upload(items);
  std::string token;
  size_t total = 0;
  int pages = 0;
  do {
    auto page = client.list_objects_page(bucket, "p q/", token, "", 100);
    total += page.objects.size();
    token = page.truncated ? page.next_token : "";
    ++pages;
  } while (!token.empty());
  CHECK(total == 250);
  CHECK(pages == 3);
}

TEST_CASE("a 64 MiB object seeded by awscli downloads in ranged parts, byte-identical", "[s3]") {
  SMP_REQUIRE_S3(server, false);
  // Through the (fault-free) proxy, whose log shows the GETs the download made.
  FaultProxy proxy(server.endpoint);
  Client client(client_config(server, proxy.endpoint()));
  const std::string bucket = fresh_bucket(client, "big-get");
  TempDir dir;
  const std::string data = pattern_bytes(64u << 20, 7);
  write_file(dir / "src.bin", data);
  auto r = run_awscli(server, {"s3", "cp", "--only-show-errors", (dir / "src.bin").string(),
                               "s3://" + bucket + "/big/object.bin"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  TransferOptions opts;
  opts.part_size = 8u << 20;
  opts.multipart_threshold = 16u << 20;
  uint64_t last_bytes = 0;
  bool finished = false;
  opts.progress = [&](const TransferProgress& p) {
    last_bytes = p.bytes_done;
    finished = p.finished;
  };
  const auto info = client.download_file(bucket, "big/object.bin", dir / "out/sub/object.bin", opts);
  CHECK(info.size == data.size());
  CHECK(read_file(dir / "out/sub/object.bin") == data);
  CHECK(finished);
  CHECK(last_bytes == data.size());
  // Nothing but the object is left in the directory (no temp names).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out/sub")) files += e.is_regular_file();
  CHECK(files == 1);
  // Eight ranged GETs, Range: bytes=a-b, distinct and together exactly the object.
  std::vector<ByteRange> ranges;
  for (const auto& req : proxy.log()) {
    if (req.method != "GET" || req.target.find("object.bin") == std::string::npos) continue;
    INFO("GET " << req.target << " Range: " << req.range);
    const auto range = parse_byte_range(req.range);
    REQUIRE(range);
    ranges.push_back(*range);
  }
  REQUIRE(ranges.size() == 8);
  std::sort(ranges.begin(), ranges.end(), [](auto& a, auto& b) { return a.first < b.first; });
  uint64_t next = 0;
  for (const auto& range : ranges) {
    CHECK(range.first == next);
    CHECK(range.last - range.first + 1 == opts.part_size);
    next = range.last + 1;
  }
  CHECK(next == data.size());
}

TEST_CASE("a 64 MiB upload goes multipart and awscli reads it back byte-identical", "[s3]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "big-put");
  TempDir dir;
  const std::string data = pattern_bytes(64u << 20, 11);
  write_file(dir / "model.tar.gz", data);
  TransferOptions opts;
  opts.part_size = 8u << 20;
  client.put_file(bucket, "job/output/model.tar.gz", dir / "model.tar.gz", opts);
  auto head = client.head_object(bucket, "job/output/model.tar.gz");
  REQUIRE(head);
  CHECK(head->size == data.size());
  CHECK(awscli_cat(server, bucket, "job/output/model.tar.gz", dir) == data);
}

TEST_CASE("multipart upload and parallel download under SigV4 verification", "[s3]") {
  SMP_REQUIRE_S3(server, true);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "big4");
  TempDir dir;
  const std::string data = pattern_bytes(12u << 20, 5);
  write_file(dir / "a b+c.bin", data);
  TransferOptions opts;
  opts.part_size = 5u << 20;
  opts.multipart_threshold = 6u << 20;
  opts.send_md5 = true;
  client.put_file(bucket, "x y/a b+c.bin", dir / "a b+c.bin", opts);
  opts.part_size = 1u << 20;
  client.download_file(bucket, "x y/a b+c.bin", dir / "back.bin", opts);
  CHECK(read_file(dir / "back.bin") == data);
  client.delete_objects(bucket, {"x y/a b+c.bin"});
  CHECK_FALSE(client.head_object(bucket, "x y/a b+c.bin"));
}

TEST_CASE("a wrong secret is a clear authentication error naming endpoint and key id", "[s3]") {
  SMP_REQUIRE_S3(server, true);
  const std::string wrong = "wrong-secret-Do-Not-Print/+42";
  ClientConfig cfg = client_config(server);
  cfg.credentials.secret_access_key = wrong;
  Client client(cfg);
  try {
    client.list_objects("any-bucket", "");
    FAIL("the verifying server accepted a wrong secret");
  } catch (const S3Error& e) {
    CHECK(e.code() == "SignatureDoesNotMatch");
    CHECK(e.http_status() == 403);
    CHECK_FALSE(e.retryable());
    CHECK_THAT(e.what(), ContainsSubstring(server.endpoint));
    CHECK_THAT(e.what(), ContainsSubstring("'" + server.access_key_id + "'"));
    CHECK_THAT(e.what(), ContainsSubstring("AWS_SECRET_ACCESS_KEY"));
    CHECK_THAT(e.what(), !ContainsSubstring(wrong));
    CHECK_THAT(e.what(), !ContainsSubstring("Do-Not-Print"));
  }
  cfg.credentials.access_key_id = "NOSUCHKEYID";
  Client unknown(cfg);
  try {
    unknown.list_objects("any-bucket", "");
    FAIL("the verifying server accepted an unknown key id");
  } catch (const S3Error& e) {
    CHECK(e.code() == "InvalidAccessKeyId");
    CHECK_THAT(e.what(), ContainsSubstring("NOSUCHKEYID"));
    CHECK_THAT(e.what(), !ContainsSubstring(wrong));
  }
}

TEST_CASE("missing objects and buckets give actionable errors", "[s3]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "missing");
  CHECK_FALSE(client.head_object(bucket, "nope"));
  try {
    client.get_object(bucket, "no/such key");
    FAIL("no error");
  } catch (const S3Error& e) {
    CHECK(e.http_status() == 404);
    CHECK(e.code() == "NoSuchKey");
    CHECK_THAT(e.what(), ContainsSubstring("s3://" + bucket + "/no/such key"));
    CHECK_THAT(e.what(), ContainsSubstring("case-sensitive"));
  }
  try {
    client.list_objects("no-such-bucket-" + bucket, "");
    FAIL("no error");
  } catch (const S3Error& e) {
    CHECK(e.code() == "NoSuchBucket");
    CHECK_THAT(e.what(), ContainsSubstring("does not exist"));
  }
  TempDir dir;
  CHECK_THROWS_AS(client.download_file(bucket, "nope", dir / "x"), S3Error);
  CHECK(std::filesystem::is_empty(dir.path()));
  CHECK_THROWS_WITH(client.put_file(bucket, "k", dir / "absent.bin"), ContainsSubstring("absent.bin"));
}

TEST_CASE("a refused connection names the endpoint and its source", "[s3]") {
  SMP_REQUIRE_S3(server, false);
  ClientConfig cfg = client_config(server, "http://127.0.0.1:1");
  cfg.retry.max_attempts = 2;
  Client client(cfg);
  try {
    client.list_objects("b", "");
    FAIL("connected to port 1");
  } catch (const S3Error& e) {
    CHECK(e.code() == "ConnectionFailed");
    CHECK_THAT(e.what(), ContainsSubstring("http://127.0.0.1:1"));
    CHECK_THAT(e.what(), ContainsSubstring("after 2 attempts"));
  }
}
