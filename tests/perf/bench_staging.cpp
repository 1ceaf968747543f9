// bench_staging: local channel staging is O(1) in data size (issue 2: a 2 GiB local channel staged
// in < 0.2 s). Stages a 2-host job whose FullyReplicated channel holds 2 GiB (16 files of 128 MiB;
// sparse, since staging never reads the bytes) and the same job with a 2 MiB channel, with
// stage_job() timed in-process, and prints both times and their ratio. A ShardedByS3Key variant
// (hard links, O(files)) is shown too.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "emulator/launch/plan.h"
#include "emulator/stage/stage.h"

namespace fs = std::filesystem;
using namespace smplocal;

namespace {

void make_channel(const fs::path& dir, int files, long long bytes_each) {
  fs::create_directories(dir);
  for (int i = 0; i < files; ++i) {
    int fd = open((dir / ("part-" + std::to_string(i))).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, bytes_each) != 0) std::exit(1);
    close(fd);
  }
}

double stage_once(const fs::path& work, const fs::path& data, const std::string& distribution, int n) {
  TrainingJob job;
  job.name = "stage-" + std::to_string(n);
  job.instance_type = "ml.g4dn.12xlarge";
  job.instance_count = 2;
  job.hyperparameters = {{"sagemaker_program", "\"noop.sh\""}, {"sagemaker_mpi_enabled", "true"},
                         {"sagemaker_mpi_num_of_processes_per_host", "2"}};
  job.entry_point = "noop.sh";
  ChannelSpec c;
  c.name = "train";
  c.uri = data.string();
  c.distribution = distribution;
  job.channels.push_back(c);
  Machine m;
  m.cores = 2;
  m.namespaces = probe_namespaces();
  JobPlan plan = make_plan(job, m, {});
  JobDir dir{work / job.name};
  fs::create_directories(dir.root);
  auto t0 = std::chrono::steady_clock::now();
  stage_job(job, plan, dir, m.namespaces, "", [](const std::string&) {}, nullptr);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  fs::path work = fs::temp_directory_path() / ("bench-staging-" + std::to_string(getpid()));
  make_channel(work / "big", 16, 128ll << 20);
  make_channel(work / "small", 16, 128ll << 10);
  int n = 0;
  double best_big = 1e9, best_small = 1e9, best_sharded = 1e9;
  for (int i = 0; i < 5; ++i) {
    best_big = std::min(best_big, stage_once(work, work / "big", "FullyReplicated", n++));
    best_small = std::min(best_small, stage_once(work, work / "small", "FullyReplicated", n++));
    best_sharded = std::min(best_sharded, stage_once(work, work / "big", "ShardedByS3Key", n++));
  }
  fs::remove_all(work);
  std::printf("staging a 2-host job, best of 5 (namespaces: %s)\n", to_string(probe_namespaces()).c_str());
  std::printf("  2 GiB FullyReplicated local channel   %7.4f s   (target < 0.2 s)\n", best_big);
  std::printf("  2 MiB FullyReplicated local channel   %7.4f s\n", best_small);
  std::printf("  ratio 2 GiB / 2 MiB = %.2fx (1.0 = independent of data size)\n", best_big / best_small);
  std::printf("  2 GiB ShardedByS3Key (hard links)     %7.4f s\n", best_sharded);
  return 0;
}
