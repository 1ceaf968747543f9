// Channels resolved and downloaded from a real server: S3Prefix with a partial prefix (the real
// service's naming), ManifestFile across buckets, and unsafe keys refused before any write.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "emulator/s3/channel.h"
#include "emulator/s3/error.h"
#include "tests/emulator/s3/support/fault_proxy.h"
#include "tests/emulator/s3/support/s3_test_env.h"
#include "tests/emulator/s3/support/temp_dir.h"

using namespace smp::s3;
using namespace smp::s3::testing;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

TEST_CASE("S3Prefix channel with a partial prefix keeps full basenames", "[s3][channel]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "chan");
  client.put_object(bucket, "data/train-data.csv", "1,2\n");
  client.put_object(bucket, "data/train-ground-truth.csv", "3\n");
  client.put_object(bucket, "data/train/nested file.csv", "4\n");
  client.put_object(bucket, "data/other.csv", "no\n");
  client.put_object(bucket, "data/train/", "");  // a console-made "folder"
  const auto objects = resolve_channel(client, S3Uri::parse("s3://" + bucket + "/data/train"),
                                       S3DataType::kS3Prefix);
  REQUIRE(objects.size() == 3);
  CHECK(objects[0].relative_path == "train-data.csv");
  CHECK(objects[1].relative_path == "train-ground-truth.csv");
  CHECK(objects[2].relative_path == "train/nested file.csv");
  CHECK(objects[0].size == 4);
  TempDir dir;
  TransferManager(client).download(channel_downloads(objects, dir / "train"));
  CHECK(read_file(dir / "train/train-data.csv") == "1,2\n");
  CHECK(read_file(dir / "train/train/nested file.csv") == "4\n");

  CHECK_THROWS_WITH(resolve_channel(client, S3Uri::parse("s3://" + bucket + "/nothing/"),
                                    S3DataType::kS3Prefix),
                    ContainsSubstring("no objects under s3://" + bucket + "/nothing/"));
}

TEST_CASE("ManifestFile channel: entries relative to the manifest's prefix", "[s3][channel]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string data = fresh_bucket(client, "mdata");
  const std::string meta = fresh_bucket(client, "mmeta");
  client.put_object(data, "set/a/1.csv", "one");
  client.put_object(data, "set/b c/2.csv", "two");
  client.put_object(data, "set/unlisted.csv", "not in the manifest");
  client.put_object(meta, "train.manifest",
                    R"([{"prefix": "s3://)" + data + R"(/set/"}, "b c/2.csv", "a/1.csv"])");
  const auto objects = resolve_channel(client, S3Uri::parse("s3://" + meta + "/train.manifest"),
                                       S3DataType::kManifestFile);
  REQUIRE(objects.size() == 2);
  CHECK(objects[0].key == "set/a/1.csv");
  CHECK(objects[0].size == 3);
  CHECK(objects[1].relative_path == "b c/2.csv");
  TempDir dir;
  TransferManager(client).download(channel_downloads(objects, dir.path()));
  CHECK(read_file(dir / "a/1.csv") == "one");
  CHECK(read_file(dir / "b c/2.csv") == "two");
  CHECK_FALSE(fs::exists(dir / "unlisted.csv"));

  client.put_object(meta, "broken.manifest", R"([{"prefix": "s3://)" + data + R"(/set/"}, "missing.csv"])");
  CHECK_THROWS_WITH(resolve_channel(client, S3Uri::parse("s3://" + meta + "/broken.manifest"),
                                    S3DataType::kManifestFile),
                    ContainsSubstring("lists 'missing.csv'"));
}

TEST_CASE("traversal keys are refused before anything is written", "[s3][channel]") {
  SMP_REQUIRE_S3(server, false);
  Client direct(client_config(server));
  const std::string bucket = fresh_bucket(direct, "evil");
  TempDir dir;
  const fs::path channel = dir / "opt/ml/input/data/train";

  SECTION("in a manifest") {
    direct.put_object(bucket, "ok.csv", "fine");
    direct.put_object(bucket, "evil.manifest",
                      R"([{"prefix": "s3://)" + bucket + R"(/"}, "ok.csv", "../../../etc/cron.d/x"])");
    try {
      auto objects = resolve_channel(direct, S3Uri::parse("s3://" + bucket + "/evil.manifest"),
                                     S3DataType::kManifestFile);
      TransferManager(direct).download(channel_downloads(objects, channel));
      FAIL("traversal accepted");
    } catch (const S3Error& e) {
      CHECK(e.code() == "UnsafeKey");
      CHECK_THAT(e.what(), ContainsSubstring("../../../etc/cron.d/x"));
    }
  }
  SECTION("in a listing (a server that lists such keys)") {
    // s3rver stores keys as paths and cannot hold "..": a proxy answers the listing instead.
    FaultProxy proxy(server.endpoint);
    proxy.add({FaultKind::kReply, "GET", "list-type=2", 1, 200, "",
               "<ListBucketResult><IsTruncated>false</IsTruncated>"
               "<Contents><Key>data/ok.csv</Key><Size>4</Size></Contents>"
               "<Contents><Key>data/../../../root/.ssh/authorized_keys</Key><Size>9</Size></Contents>"
               "</ListBucketResult>"});
    Client client(client_config(server, proxy.endpoint()));
    try {
      auto objects = resolve_channel(client, S3Uri::parse("s3://" + bucket + "/data/"), S3DataType::kS3Prefix);
      TransferManager(client).download(channel_downloads(objects, channel));
      FAIL("traversal accepted");
    } catch (const S3Error& e) {
      CHECK(e.code() == "UnsafeKey");
      CHECK_THAT(e.what(), ContainsSubstring("escape the channel directory"));
    }
  }
  CHECK(fs::is_empty(dir.path()));
}
