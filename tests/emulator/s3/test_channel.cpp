// Channel resolution rules without a server: the real service's S3Prefix key→path rule,
// manifests, and refusal of every key that could escape or misname a file.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "emulator/s3/channel.h"
#include "emulator/s3/error.h"

using namespace smp::s3;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<ObjectInfo> listing(std::initializer_list<const char*> keys) {
  std::vector<ObjectInfo> out;
  for (const char* k : keys) out.push_back({k, 1, "etag", ""});
  return out;
}

std::string refusal(const S3Uri& uri, const std::string& key) {
  try {
    channel_from_listing(uri, {{key, 1, "etag", ""}});
  } catch (const S3Error& e) {
    CHECK(e.code() == "UnsafeKey");
    return e.what();
  }
  FAIL("no refusal for " << key);
  return {};
}

}  // namespace

TEST_CASE("S3Prefix keeps the full basename: key minus the URI's directory part", "[channel]") {
  const auto partial = S3Uri::parse("s3://b/data/train");
  CHECK(prefix_relative_path(partial, "data/train-data.csv") == "train-data.csv");
  CHECK(prefix_relative_path(partial, "data/train-ground-truth.csv") == "train-ground-truth.csv");
  CHECK(prefix_relative_path(partial, "data/train/x.csv") == "train/x.csv");
  const auto dir = S3Uri::parse("s3://b/data/train/");
  CHECK(prefix_relative_path(dir, "data/train/a/x.csv") == "a/x.csv");
  CHECK(prefix_relative_path(dir, "data/train/") == std::nullopt);      // directory marker
  CHECK(prefix_relative_path(dir, "data/train/sub/") == std::nullopt);  // directory marker
  const auto bucket = S3Uri::parse("s3://b");
  CHECK(prefix_relative_path(bucket, "top/file") == "top/file");
  const auto single = S3Uri::parse("s3://b/data/one.csv");
  CHECK(prefix_relative_path(single, "data/one.csv") == "one.csv");
  CHECK_THROWS_AS(prefix_relative_path(dir, "other/x"), S3Error);
}

TEST_CASE("a listing becomes sorted channel objects without markers", "[channel]") {
  auto objects = channel_from_listing(S3Uri::parse("s3://b/d/"),
                                      listing({"d/z.csv", "d/", "d/a b/+=&.csv", "d/\xC3\xA9.bin"}));
  REQUIRE(objects.size() == 3);
  CHECK(objects[0].key == "d/a b/+=&.csv");
  CHECK(objects[0].relative_path == "a b/+=&.csv");
  CHECK(objects[1].relative_path == "z.csv");
  CHECK(objects[2].relative_path == "\xC3\xA9.bin");  // UTF-8 sorts after ASCII, like S3
  CHECK(objects[0].bucket == "b");
  const auto items = channel_downloads(objects, "/ch");
  CHECK(items[0].destination == std::filesystem::path("/ch/a b/+=&.csv"));
  CHECK(items[0].size == 1);
}

TEST_CASE("keys that would escape the channel directory are refused", "[channel]") {
  const auto uri = S3Uri::parse("s3://b/data/");
  CHECK_THAT(refusal(uri, "data/../../etc/passwd"), ContainsSubstring("escape"));
  CHECK_THAT(refusal(uri, "data/a/../../x"), ContainsSubstring("'..'"));
  CHECK_THAT(refusal(uri, "data//etc/passwd"), ContainsSubstring("absolute"));
  CHECK_THAT(refusal(uri, "data/a//b"), ContainsSubstring("empty path segment"));
  CHECK_THAT(refusal(uri, "data/./x"), ContainsSubstring("'.'"));
  CHECK_THAT(refusal(uri, "data/.."), ContainsSubstring("'..'"));
  CHECK_THAT(refusal(uri, "data/" + std::string(256, 'x')), ContainsSubstring("255"));
  const std::string msg = refusal(uri, "data/../x");
  CHECK_THAT(msg, ContainsSubstring("s3://b/data/../x"));
  CHECK_THAT(msg, ContainsSubstring("Nothing was written"));
  CHECK_THROWS_AS(check_relative_path(std::string("a\0b", 3), "k"), S3Error);
  CHECK_THROWS_AS(check_relative_path("", "k"), S3Error);
  CHECK_NOTHROW(check_relative_path("..a/b..c/.d", "k"));  // dots inside names are fine
}

TEST_CASE("a file and a directory of the same name cannot both be materialized", "[channel]") {
  try {
    channel_from_listing(S3Uri::parse("s3://b/p/"), listing({"p/a", "p/a/b"}));
    FAIL("accepted a file/directory clash");
  } catch (const S3Error& e) {
    CHECK(e.code() == "DestinationConflict");
    CHECK_THAT(e.what(), ContainsSubstring("'a'"));
  }
}

TEST_CASE("manifests: prefix + entries; entries are the local paths", "[channel]") {
  const auto uri = S3Uri::parse("s3://m/manifests/train.manifest");
  auto m = parse_manifest(R"([{"prefix": "s3://data/set/"}, "b/2.csv", "a/1.csv"])", uri);
  CHECK(m.prefix == S3Uri{"data", "set/"});
  CHECK(m.entries == std::vector<std::string>{"b/2.csv", "a/1.csv"});
  auto objects = channel_from_manifest(m, {{"set/b/2.csv", 5, "e2", ""}, {"set/a/1.csv", 7, "e1", ""}});
  REQUIRE(objects.size() == 2);
  CHECK(objects[0].key == "set/a/1.csv");
  CHECK(objects[0].relative_path == "a/1.csv");
  CHECK(objects[0].size == 7);
  CHECK(objects[0].etag == "e1");
  CHECK(objects[1].bucket == "data");

  auto bad = [&](const char* text) {
    try {
      parse_manifest(text, uri);
    } catch (const S3Error& e) {
      return std::string(e.code()) + ": " + e.what();
    }
    return std::string("accepted");
  };
  CHECK_THAT(bad("not json"), ContainsSubstring("InvalidManifest"));
  CHECK_THAT(bad("[\"a\"]"), ContainsSubstring("{\"prefix\""));
  CHECK_THAT(bad(R"([{"prefix": "s3://d/p/"}])"), ContainsSubstring("no objects"));
  CHECK_THAT(bad(R"([{"prefix": "s3://d/p/"}, 3])"), ContainsSubstring("element 1"));
  CHECK_THAT(bad(R"([{"prefix": "s3://d/p/"}, "../x"])"), ContainsSubstring("UnsafeKey"));
  CHECK_THAT(bad(R"([{"prefix": "s3://d/p/"}, "/etc/passwd"])"), ContainsSubstring("absolute"));
  CHECK_THAT(bad(R"([{"prefix": "d/p/"}, "x"])"), ContainsSubstring("InvalidUri"));
  CHECK_THAT(bad(R"([{"prefix": "s3://d/p/"}, "x", "x"])"), ContainsSubstring("accepted"));
  CHECK_THROWS_AS(channel_from_manifest(parse_manifest(R"([{"prefix": "s3://d/p/"}, "x", "x"])", uri), {}),
                  S3Error);
}

TEST_CASE("S3DataType names", "[channel]") {
  CHECK(parse_s3_data_type("S3Prefix") == S3DataType::kS3Prefix);
  CHECK(parse_s3_data_type("ManifestFile") == S3DataType::kManifestFile);
  CHECK_THROWS_WITH(parse_s3_data_type("AugmentedManifestFile"), ContainsSubstring("Pipe mode"));
  CHECK_THROWS_AS(parse_s3_data_type("s3prefix"), S3Error);
}
