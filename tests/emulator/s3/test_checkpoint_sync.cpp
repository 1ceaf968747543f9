// Checkpoint sync for two emulated hosts sharing one S3 location: initial download into both,
// uploads of new files once stable, mirrored deletions, and the final flush.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <thread>

#include "emulator/s3/checkpoint_sync.h"
#include "emulator/s3/client.h"
#include "tests/emulator/s3/support/s3_test_env.h"
#include "tests/emulator/s3/support/temp_dir.h"

using namespace smp::s3;
using namespace smp::s3::testing;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// Polls for up to 20 s: generous, because CI machines are shared and the watcher scans every 100 ms.
bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 400; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace

TEST_CASE("checkpoint sync across two hosts", "[s3][checkpoint]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "ckpt");
  TempDir dir;
  write_file(dir / "seed/epoch_1.pt", "weights-1");
  write_file(dir / "seed/opt/state.bin", "optimizer");
  auto r = run_awscli(server, {"s3", "cp", "--recursive", "--only-show-errors", (dir / "seed").string(),
                               "s3://" + bucket + "/jobs/ckpt"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  client.put_object(bucket, "jobs/ckpt-other/not-mine.pt", "outside the prefix");

  const fs::path h1 = dir / "algo-1/opt/ml/checkpoints", h2 = dir / "algo-2/opt/ml/checkpoints";
  CheckpointSyncOptions options;
  options.scan_interval = std::chrono::milliseconds(100);
  std::vector<std::string> log;
  options.log = [&](const std::string& line) { log.push_back(line); };
  CheckpointSync sync(client, S3Uri::parse("s3://" + bucket + "/jobs/ckpt"), {h1, h2}, options);

  const auto initial = sync.download_initial();
  CHECK(initial.objects == 2);
  for (const auto& h : {h1, h2}) {
    CHECK(read_file(h / "epoch_1.pt") == "weights-1");
    CHECK(read_file(h / "opt/state.bin") == "optimizer");
    CHECK_FALSE(fs::exists(h / "not-mine.pt"));
  }

  sync.start();
  // A new file on host 1 is uploaded once two scans agree on it.
  write_file(h1 / "epoch_2.pt", "weights-2");
  CHECK(eventually([&] { return client.head_object(bucket, "jobs/ckpt/epoch_2.pt").has_value(); }));
  CHECK(client.get_object(bucket, "jobs/ckpt/epoch_2.pt") == "weights-2");
  // Deleting a downloaded file on host 2 deletes the S3 copy.
  fs::remove(h2 / "epoch_1.pt");
  CHECK(eventually([&] { return !client.head_object(bucket, "jobs/ckpt/epoch_1.pt").has_value(); }));
  // Written right before the end: the final flush sends it without waiting for stability.
  write_file(h2 / "final/last.pt", "weights-final");
  const auto summary = sync.finish();
  CHECK(client.get_object(bucket, "jobs/ckpt/final/last.pt") == "weights-final");
  CHECK(client.get_object(bucket, "jobs/ckpt/opt/state.bin") == "optimizer");
  CHECK(summary.downloaded_objects == 2);
  CHECK(summary.uploaded_files == 2);
  CHECK(summary.deleted_objects == 1);
  CHECK(summary.text(S3Uri::parse("s3://" + bucket + "/jobs/ckpt"), 2) ==
        "checkpoints s3://" + bucket + "/jobs/ckpt: downloaded 2 objects (18 B) into 2 hosts, "
        "uploaded 2 files (22 B), deleted 1 object");
  CHECK(log.empty());
}

TEST_CASE("checkpoint sync waits for a file to stop changing", "[s3][checkpoint]") {
  SMP_REQUIRE_S3(server, false);
  Client client(client_config(server));
  const std::string bucket = fresh_bucket(client, "ckpt2");
  TempDir dir;
  CheckpointSync sync(client, S3Uri::parse("s3://" + bucket + "/c/"), {dir / "h1"});
  CHECK(sync.download_initial().objects == 0);
  CHECK(fs::is_directory(dir / "h1"));
  write_file(dir / "h1/growing.bin", "part");
  sync.sync_once(false);  // first sighting: not yet
  CHECK_FALSE(client.head_object(bucket, "c/growing.bin"));
  write_file(dir / "h1/growing.bin", "partpart");  // still being written
  sync.sync_once(false);
  CHECK_FALSE(client.head_object(bucket, "c/growing.bin"));
  sync.sync_once(false);  // unchanged across two scans: uploaded
  CHECK(client.get_object(bucket, "c/growing.bin") == "partpart");
  sync.sync_once(false);  // nothing new: no second upload
  CHECK(sync.summary().uploaded_files == 1);
  // A file we never uploaded that disappears is not an S3 delete.
  write_file(dir / "h1/tmp.txt", "x");
  sync.sync_once(false);
  fs::remove(dir / "h1/tmp.txt");
  sync.sync_once(false);
  CHECK(sync.summary().deleted_objects == 0);
  const auto done = sync.finish();
  CHECK(done.uploaded_files == 1);
}
