// Small pure pieces: S3 URIs, XML documents, retry delays, progress formatting.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "emulator/s3/error.h"
#include "emulator/s3/ini.h"
#include "emulator/s3/progress.h"
#include "emulator/s3/retry.h"
#include "emulator/s3/uri.h"
#include "emulator/s3/xml.h"

using namespace smp::s3;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("S3 URIs parse and format", "[uri]") {
  auto u = S3Uri::parse("s3://bucket/a b/c+d.txt");
  CHECK(u.bucket == "bucket");
  CHECK(u.key == "a b/c+d.txt");
  CHECK(u.str() == "s3://bucket/a b/c+d.txt");
  CHECK(u.directory_part() == "a b/");
  CHECK(S3Uri::parse("s3://bucket").key.empty());
  CHECK(S3Uri::parse("s3://bucket/").key.empty());
  CHECK(S3Uri::parse("S3://bucket/k").bucket == "bucket");
  CHECK(S3Uri::parse("s3://b/p").as_directory().key == "p/");
  CHECK(S3Uri::parse("s3://b/p/").child("x/y").str() == "s3://b/p/x/y");
  CHECK(S3Uri::parse("s3://b").child("x").str() == "s3://b/x");
  CHECK(S3Uri::looks_like("s3://x"));
  CHECK_FALSE(S3Uri::looks_like("file:///x"));
  for (const char* bad : {"http://b/k", "s3://", "s3:///key", "s3://bad bucket/k", "s3://b?x/k"}) {
    try {
      S3Uri::parse(bad);
      FAIL(bad);
    } catch (const S3Error& e) {
      CHECK(e.code() == "InvalidUri");
      CHECK_THAT(e.what(), ContainsSubstring("s3://<bucket>/"));
    }
  }
}

TEST_CASE("ListObjectsV2 documents, with and without encoding-type=url", "[xml]") {
  const std::string plain = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>
<Contents><Key>p/a &amp; b+c.txt</Key><Size>12</Size><ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>
<LastModified>2024-01-01T00:00:00.000Z</LastModified></Contents>
<Contents><Key>p/big</Key><Size>6000000000</Size><ETag>"abc-3"</ETag></Contents>
</ListBucketResult>)";
  auto page = xml::parse_list_objects_v2(plain);
  REQUIRE(page.objects.size() == 2);
  CHECK(page.objects[0].key == "p/a & b+c.txt");
  CHECK(page.objects[0].size == 12);
  CHECK(page.objects[0].etag == "0123456789abcdef0123456789abcdef");
  CHECK(page.objects[0].etag_is_md5());
  CHECK(page.objects[1].size == 6000000000ull);
  CHECK_FALSE(page.objects[1].etag_is_md5());
  CHECK(page.truncated);
  CHECK(page.next_token == "tok+/=");

  const std::string encoded = R"(<ListBucketResult><EncodingType>url</EncodingType>
<IsTruncated>false</IsTruncated><Contents><Key>p/a+b%2Bc%3D%26%E1%88%B4</Key><Size>1</Size></Contents>
<CommonPrefixes><Prefix>p/sub+dir/</Prefix></CommonPrefixes></ListBucketResult>)";
  page = xml::parse_list_objects_v2(encoded);
  CHECK(page.objects[0].key == "p/a b+c=&\xE1\x88\xB4");
  CHECK(page.common_prefixes == std::vector<std::string>{"p/sub dir/"});
  CHECK_FALSE(page.truncated);
  CHECK_THROWS_AS(xml::parse_list_objects_v2("<html>oops"), S3Error);
}

TEST_CASE("error documents and multipart documents", "[xml]") {
  auto e = xml::parse_error(
      "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce your rate</Message>"
      "<Region>eu-west-1</Region></Error>");
  REQUIRE(e);
  CHECK(e->code == "SlowDown");
  CHECK(e->message == "Reduce your rate");
  CHECK(e->region == "eu-west-1");
  CHECK_FALSE(xml::parse_error("<CompleteMultipartUploadResult/>"));
  CHECK(xml::parse_upload_id("<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>") == "u-1");
  CHECK(xml::parse_complete_etag("<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>") == "x-2");
  const std::string body = xml::complete_multipart_body({{1, "aa"}, {2, "bb"}});
  CHECK_THAT(body, ContainsSubstring("<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"));
  const std::string del = xml::delete_objects_body({"a&b<c>", "d"});
  CHECK_THAT(del, ContainsSubstring("<Key>a&amp;b&lt;c&gt;</Key>"));
  CHECK_THAT(del, ContainsSubstring("<Quiet>true</Quiet>"));
  auto failures = xml::parse_delete_result(
      "<DeleteResult><Error><Key>k</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].key == "k");
}

TEST_CASE("retry classification and full-jitter backoff", "[retry]") {
  CHECK(retryable_http(500, ""));
  CHECK(retryable_http(503, "SlowDown"));
  CHECK(retryable_http(429, ""));
  CHECK(retryable_http(400, "RequestTimeout"));
  CHECK_FALSE(retryable_http(403, "SignatureDoesNotMatch"));
  CHECK_FALSE(retryable_http(404, "NoSuchKey"));
  RetryPolicy p;
  p.base_delay = std::chrono::milliseconds(100);
  p.max_delay = std::chrono::milliseconds(1000);
  std::mt19937_64 rng(1);
  for (int attempt = 1; attempt < 12; ++attempt) {
    const auto cap = std::min<long long>(1000, 100LL << (attempt - 1));
    for (int i = 0; i < 50; ++i) {
      const auto d = p.delay(attempt, rng).count();
      CHECK(d >= 0);
      CHECK(d <= cap);
    }
  }
}

TEST_CASE("sizes, rates and the one-line summary", "[progress]") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.50 KiB");
  CHECK(format_bytes(1ull << 30) == "1.00 GiB");
  CHECK(format_bytes(300ull << 20) == "300 MiB");
  CHECK(format_rate(487.0 * (1 << 20)) == "487 MiB/s");
  CHECK(format_rate(2.5 * (1 << 20)) == "2.5 MiB/s");
  TransferSummary s{"downloaded", 513, 1ull << 30, 2.1};
  CHECK(s.text() == "downloaded 513 objects, 1.00 GiB in 2.1 s (488 MiB/s)");
  TransferSummary one{"uploaded", 1, 1024, 0.5};
  CHECK(one.text() == "uploaded 1 object, 1.00 KiB in 0.5 s (2 KiB/s)");
}

TEST_CASE("the progress ticker reports from one thread and ends with a final report", "[progress]") {
  std::vector<TransferProgress> seen;
  {
    ProgressTicker ticker([&](const TransferProgress& p) { seen.push_back(p); }, 2, 100);
    ticker.add_bytes(60);
    ticker.add_object();
    ticker.add_bytes(40);
    ticker.add_object();
    ticker.finish();
  }
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back().finished);
  CHECK(seen.back().bytes_done == 100);
  CHECK(seen.back().objects_done == 2);
  CHECK(seen.back().objects_total == 2);
  TtyProgressPrinter quiet("downloading", true);
  CHECK_FALSE(quiet.active());
  CHECK_FALSE(quiet.callback());
}

TEST_CASE("the TTY printer draws in place on a terminal and erases its line at the end", "[progress]") {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  REQUIRE(slave >= 0);
  TtyProgressPrinter printer("downloading", false, slave);
  CHECK(printer.active());
  auto cb = printer.callback();
  REQUIRE(cb);
  cb({3, 513, 3ull << 20, 1ull << 30, 1.0, false});
  cb({513, 513, 1ull << 30, 1ull << 30, 2.0, true});
  char buf[512];
  const ssize_t n = ::read(master, buf, sizeof buf);
  REQUIRE(n > 0);
  const std::string out(buf, static_cast<size_t>(n));
  CHECK_THAT(out, ContainsSubstring("downloading  3/513 objects  3.00 MiB/1.00 GiB  3.0 MiB/s"));
  CHECK_THAT(out, ContainsSubstring("\r\033[K"));
  ::close(slave);
  ::close(master);
  // Not a terminal (a pipe, as in CI logs): silent even when not quiet.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  CHECK_FALSE(TtyProgressPrinter("downloading", false, fds[1]).active());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("AWS ini files: sections, comments, nested keys", "[config]") {
  auto ini = IniFile::parse("; top\n[default]\nRegion = eu-west-1\n# c\ns3 =\n  addressing_style = path\n"
                            "  max_concurrent_requests = 20\nother = x\n[profile a b]\nk=v=w\n");
  REQUIRE(ini.section("default"));
  CHECK(ini.section("default")->at("region") == "eu-west-1");
  CHECK(ini.section("default")->at("s3.addressing_style") == "path");
  CHECK(ini.section("default")->at("s3.max_concurrent_requests") == "20");
  CHECK(ini.section("default")->at("other") == "x");
  CHECK(ini.section("profile a b")->at("k") == "v=w");
  CHECK(ini.section("nope") == nullptr);
}
