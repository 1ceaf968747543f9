// End to end: a 2-host model-parallel job (partitions 2, ddp, 2 processes per host) whose entry
// point uses libsmp — SM_HP_MP_PARAMETERS from smp-local reaches smp::init unchanged, the ranks
// sit on the emulated hosts as the placement says, and DDP keeps the replicas identical.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <map>

#include "tests/samples/samples_e2e.h"

using namespace samples_e2e;

namespace {

// The same JSON object whatever its key order: the toolkit writes SM_HP_* with sorted keys
// (json.dumps(sort_keys=True)), hyperparameters.json keeps the SDK's order.
nlohmann::json unordered(const Json& j) { return nlohmann::json::parse(j.dump()); }

}  // namespace

TEST_CASE("2 hosts x 2 ranks, partitions 2, ddp: smp::init reads the job's mp_parameters",
          "[e2e]") {
  if (mp_probe_bin().empty()) SKIP(kNoTorch);
  const std::string placement = GENERATE("spread", "cluster");
  INFO("placement_strategy " << placement);
  JobsDir jobs;
  Json spec = {{"entry_point", "mp_probe"},
               {"source_dir", mp_probe_bin()},
               {"instance_type", "ml.g4dn.12xlarge"},
               {"instance_count", 2},
               {"framework_version", "1.13.1"},
               {"py_version", "py39"},
               {"base_job_name", "mp-probe"},
               {"distribution",
                {{"smdistributed",
                  {{"modelparallel",
                    {{"enabled", true},
                     {"parameters",
                      {{"partitions", 2},
                       {"microbatches", 2},
                       {"ddp", true},
                       {"pipeline", "interleaved"},
                       {"placement_strategy", placement},
                       {"optimize", "speed"}}}}}}},
                 {"mpi", {{"enabled", true}, {"processes_per_host", 2}}}}},
               {"max_run", 600}};
  fs::create_directories(jobs.path);
  const fs::path spec_file = jobs.path / "mp-probe.json";
  std::ofstream(spec_file) << spec.dump(2);
  auto r = smp_local({"run", spec_file.string(), "--jobs-dir", (jobs.path / "jobs").string(),
                      "--json", "--job-name", "mp-probe-" + placement},
                     {}, 300);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Json::parse(r.out)["TrainingJobStatus"] == "Completed");
  const fs::path job = jobs.path / "jobs" / ("mp-probe-" + placement);

  // What the job's hyperparameters say, decoded as a training script would decode them.
  Json hps = read_json(job / "hosts/algo-1/opt/ml/input/config/hyperparameters.json");
  REQUIRE(hps.contains("mp_parameters"));
  Json expected = hps["mp_parameters"].is_string()
                      ? Json::parse(hps["mp_parameters"].get<std::string>())
                      : hps["mp_parameters"];
  CHECK(unordered(expected) ==
        unordered(spec["distribution"]["smdistributed"]["modelparallel"]["parameters"]));

  std::map<int, double> checksum_of_stage;
  std::set<std::pair<int, int>> coords;
  for (int rank = 0; rank < 4; ++rank) {
    INFO("rank " << rank);
    const std::string host = rank < 2 ? "algo-1" : "algo-2";
    const fs::path file = job / "hosts" / host / "opt/ml/output/data" /
                          ("probe-rank-" + std::to_string(rank) + ".json");
    REQUIRE(fs::exists(file));
    Json rec = read_json(file);
    CHECK(unordered(rec["mp_parameters"]) == unordered(expected));
    CHECK(unordered(Json::parse(rec["SM_HP_MP_PARAMETERS"].get<std::string>())) ==
          unordered(expected));
    CHECK(rec["host"] == host);
    CHECK(rec["size"] == 4);
    CHECK(rec["local_rank"] == rank % 2);
    CHECK(rec["pp_size"] == 2);
    CHECK(rec["dp_size"] == 2);
    // SMP's placement tables: spread ("TPD") varies dp fastest, cluster ("DPT") varies pp fastest.
    const int pp = rec["pp_rank"], dp = rec["dp_rank"];
    CHECK(pp == (placement == "spread" ? rank / 2 : rank % 2));
    CHECK(dp == (placement == "spread" ? rank % 2 : rank / 2));
    coords.insert({pp, dp});
    // DDP: both replicas of a stage hold the same parameters after the optimizer steps.
    const double sum = rec["param_checksum"];
    if (checksum_of_stage.count(pp))
      CHECK(std::abs(sum - checksum_of_stage[pp]) <= 1e-9 * std::abs(sum));
    else
      checksum_of_stage[pp] = sum;
  }
  CHECK(coords.size() == 4);
}
