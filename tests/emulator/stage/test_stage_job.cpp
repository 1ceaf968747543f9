// stage_job: hosts are staged side by side; every host gets its own complete tree and the log
// reads in host order.
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>

#include "emulator/common/fs.h"
#include "emulator/launch/plan.h"
#include "emulator/stage/stage.h"
#include "tests/emulator/support.h"

using namespace smplocal;
namespace fs = std::filesystem;

TEST_CASE("stage_job: 6 hosts, each with its tree, shard and code; log in host order",
          "[stage][unit]") {
  TempDir d;
  fs::create_directories(d.path / "data");
  for (int i = 0; i < 12; ++i) std::ofstream(d.path / "data" / ("part-" + std::to_string(i))) << i;
  fs::create_directories(d.path / "code");
  std::ofstream(d.path / "code/noop.sh") << "exit 0\n";
  TrainingJob job;
  job.name = "stage-six";
  job.instance_type = "ml.g4dn.12xlarge";
  job.instance_count = 6;
  job.entry_point = "noop.sh";
  job.code_source = (d.path / "code").string();
  job.hyperparameters = {{"sagemaker_program", "\"noop.sh\""}};
  ChannelSpec c;
  c.name = "train";
  c.uri = (d.path / "data").string();
  c.distribution = "ShardedByS3Key";
  job.channels.push_back(c);
  Machine m;
  m.cores = 2;
  m.namespaces = NamespaceMode::kRoot;
  JobPlan plan = make_plan(job, m, {});
  JobDir dir{d.path / "jobs" / job.name};
  fs::create_directories(dir.root);

  std::vector<std::string> log;
  StageReport r = stage_job(
      job, plan, dir, m.namespaces, "", [&](const std::string& l) { log.push_back(l); }, nullptr);
  CHECK(r.files_linked == 12);
  CHECK(r.files_copied == 0);
  REQUIRE(log.size() == 6);
  for (int h = 0; h < 6; ++h) {
    const std::string host = "algo-" + std::to_string(h + 1);
    CHECK(log[h] == "channel train (ShardedByS3Key): " + host + " gets 2 of 12 files");
    const fs::path opt = dir.opt_ml(host);
    for (const char* sub : {"input/data/train", "model", "output/data", "code"})
      CHECK(fs::is_directory(opt / sub));
    // File i goes to host i mod 6 (sorted names: part-0, part-1, part-10, part-11, part-2, ...).
    int shard = 0;
    for (const auto& e : fs::directory_iterator(opt / "input/data/train")) {
      (void)e;
      ++shard;
    }
    CHECK(shard == 2);
    CHECK(read_file(opt / "code/noop.sh") == "exit 0\n");
    CHECK(read_file(opt / "input/config/resourceconfig.json")
              .find("\"current_host\": \"" + host + "\"") != std::string::npos);
    CHECK(fs::is_regular_file(dir.agent_config(host)));
    CHECK(fs::is_regular_file(dir.etc_hosts(host)));
  }
  CHECK_FALSE(fs::exists(dir.trace()));  // made by the ranks when they trace
}
