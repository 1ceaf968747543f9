// Planning: runner choice, GPUs of the target and of this machine, rank tables, SMP checks.
#include <catch2/catch_test_macros.hpp>

#include "emulator/launch/plan.h"
#include "tests/emulator/support.h"

using namespace smplocal;

namespace {

Machine cpu_machine(int cores = 2) {
  Machine m;
  m.cores = cores;
  m.python = "/usr/bin/python3";
  m.network_interface = "eth0";
  m.namespaces = NamespaceMode::kRoot;
  return m;
}

TrainingJob estimator(const std::string& json) {
  Problems p;
  TrainingJob job = parse_estimator(Json::parse(json), {}, test_context("/s"), p);
  REQUIRE_FALSE(smp::core::has_errors(p));
  return job;
}

TrainingJob mp_job(int count, int ppn, const std::string& params, const std::string& type = "ml.p3.16xlarge") {
  return estimator(R"({"entry_point": "t.py", "instance_type": ")" + type + R"(", "instance_count": )" +
                   std::to_string(count) + R"(, "image_uri": "x", "job_name": "j",
    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": )" + params + R"(}},
                     "mpi": {"enabled": true, "processes_per_host": )" + std::to_string(ppn) + "}}}");
}

std::vector<std::vector<int>> groups(const JobPlan& plan, bool mp) {
  std::vector<std::vector<int>> out;
  for (const auto& r : plan.ranks) {
    const auto& g = mp ? r.mp_group : r.dp_group;
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  return out;
}

}  // namespace

TEST_CASE("the seed job: 8 CPU ranks, spread placement", "[plan]") {
  JobPlan plan = make_plan(mp_job(1, 8, R"({"partitions": 2, "microbatches": 4, "placement_strategy": "spread",
      "pipeline": "interleaved", "optimize": "speed", "ddp": true})"), cpu_machine(), {});
  CHECK_FALSE(smp::core::has_errors(plan.problems));
  CHECK(has_message_containing(plan.problems, "8 ranks on 2 CPU cores"));  // a warning
  CHECK(plan.runner == Runner::kMpi);
  CHECK(plan.world_size == 8);
  CHECK_FALSE(plan.use_gpus);
  CHECK(groups(plan, true) == std::vector<std::vector<int>>{{0, 4}, {1, 5}, {2, 6}, {3, 7}});
  CHECK(groups(plan, false) == std::vector<std::vector<int>>{{0, 1, 2, 3}, {4, 5, 6, 7}});
  CHECK(plan.ranks[6].coords->dp_rank == 2);
  CHECK(plan.ranks[6].gpu == "cpu");
}

TEST_CASE("cluster placement across 2 hosts", "[plan]") {
  JobPlan plan = make_plan(mp_job(2, 4, R"({"partitions": 2, "ddp": true})"), cpu_machine(), {});
  CHECK(groups(plan, true) == std::vector<std::vector<int>>{{0, 1}, {2, 3}, {4, 5}, {6, 7}});
  CHECK(groups(plan, false) == std::vector<std::vector<int>>{{0, 2, 4, 6}, {1, 3, 5, 7}});
  CHECK(plan.ranks[5].host == "algo-2");
  CHECK(plan.ranks[5].local_rank == 1);
}

TEST_CASE("DPT and PTD placements through a CreateTrainingJob request", "[plan]") {
  for (auto [letters, rank3] : {std::pair<std::string, std::array<int, 3>>{"DPT", {0, 1, 1}},
                                {"PTD", {1, 0, 1}}}) {
    Problems p;
    Json req = Json::parse(R"({"TrainingJobName": "j", "AlgorithmSpecification": {"TrainingImage": "x:1.13.1-gpu-py39",
      "TrainingInputMode": "File"}, "ResourceConfig": {"InstanceType": "ml.p3.16xlarge", "InstanceCount": 1},
      "HyperParameters": {"sagemaker_program": "\"t.py\"", "sagemaker_submit_directory": "\"file:///src\"",
        "sagemaker_mpi_enabled": "true", "sagemaker_mpi_num_of_processes_per_host": "8"}})");
    req["HyperParameters"]["mp_parameters"] =
        R"({"partitions": 2, "tensor_parallel_degree": 2, "ddp": true, "placement_strategy": ")" + letters + "\"}";
    TrainingJob job = parse_create_training_job(req, {}, test_context("/s"), p);
    JobPlan plan = make_plan(job, cpu_machine(8), {});
    CHECK_FALSE(smp::core::has_errors(plan.problems));
    REQUIRE(plan.ranks.size() == 8);
    CHECK(plan.ranks[3].coords->rdp_rank == rank3[0]);
    CHECK(plan.ranks[3].coords->pp_rank == rank3[1]);
    CHECK(plan.ranks[3].coords->tp_rank == rank3[2]);
    CHECK(has_message_containing(plan.problems, "libsmp does not implement tensor parallelism"));
  }
}

TEST_CASE("processes_per_host above the instance's GPUs", "[plan]") {
  JobPlan plan = make_plan(mp_job(1, 8, R"({"partitions": 2, "ddp": true})", "ml.p3.8xlarge"), cpu_machine(), {});
  CHECK(has_message_containing(plan.problems, "node-local MPI processes 8 cannot be larger than the device count 4"));
}

TEST_CASE("pipeline degree must divide the processes", "[plan]") {
  JobPlan plan = make_plan(mp_job(1, 8, R"({"partitions": 3, "ddp": true})"), cpu_machine(), {});
  CHECK(has_message_containing(plan.problems, "does not divide the number of processes (8)"));
}

TEST_CASE("model parallelism without MPI", "[plan]") {
  TrainingJob job = estimator(R"({"entry_point": "t.py", "instance_type": "ml.p3.16xlarge", "image_uri": "x",
    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 1}}}}})");
  JobPlan plan = make_plan(job, cpu_machine(), {});
  CHECK(has_message(plan.problems, "Cannot use Model Parallelism without MPI enabled!"));
}

TEST_CASE("GPUs: slices per host, not enough GPUs, --gpus, --cpu", "[plan]") {
  Machine m = cpu_machine(16);
  for (int i = 0; i < 4; ++i) m.gpus.push_back({i, "NVIDIA H100", 81559});
  TrainingJob job = mp_job(2, 2, R"({"partitions": 2, "ddp": true})", "ml.g4dn.12xlarge");
  JobPlan plan = make_plan(job, m, {});
  CHECK(plan.use_gpus);
  CHECK(plan.hosts[1].gpu_ids == std::vector<int>{2, 3});
  CHECK(plan.hosts[1].facts.cuda_visible_devices == "2,3");
  CHECK(plan.ranks[3].gpu == "3");

  JobPlan too_many = make_plan(mp_job(2, 4, R"({"partitions": 2, "ddp": true})", "ml.g4dn.12xlarge"), m, {});
  CHECK(has_message_containing(too_many.problems, "the job needs 8 GPUs"));
  bool names_fix = false;
  for (const auto& p : too_many.problems) names_fix |= p.fix.find("--cpu") != std::string::npos;
  CHECK(names_fix);

  PlanOptions sel;
  sel.gpus = std::vector<int>{3, 1, 0, 2};
  JobPlan picked = make_plan(job, m, sel);
  CHECK_FALSE(smp::core::has_errors(picked.problems));
  CHECK(picked.hosts[0].gpu_ids == std::vector<int>{3, 1});
  sel.gpus = std::vector<int>{7};
  CHECK(has_message_containing(make_plan(job, m, sel).problems, "GPU 7 does not exist"));

  PlanOptions cpu;
  cpu.force_cpu = true;
  JobPlan on_cpu = make_plan(job, m, cpu);
  CHECK_FALSE(on_cpu.use_gpus);
  CHECK(on_cpu.hosts[0].facts.num_gpus == 0);
}

TEST_CASE("runners: plain process, unsupported launchers", "[plan]") {
  JobPlan plain = make_plan(estimator(R"({"entry_point": "t.py", "instance_type": "ml.m5.xlarge", "image_uri": "x", "instance_count": 2})"),
                            cpu_machine(), {});
  CHECK(plain.runner == Runner::kProcess);
  CHECK(plain.world_size == 2);
  CHECK(plain.entry_argv == std::vector<std::string>{"/usr/bin/python3", "t.py"});
  JobPlan td = make_plan(estimator(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
      "distribution": {"torch_distributed": {"enabled": true}}})"), cpu_machine(), {});
  CHECK(has_message_containing(td.problems, "torch_distributed (torchrun) launcher is not emulated"));
}

TEST_CASE("processes_per_host defaults to the instance's GPUs", "[plan]") {
  TrainingJob job = estimator(R"({"entry_point": "t.py", "instance_type": "ml.p3.8xlarge", "image_uri": "x",
      "distribution": {"mpi": {"enabled": true}}})");
  CHECK(processes_per_host(job) == 4);
  JobPlan plan = make_plan(job, cpu_machine(), {});
  CHECK(plan.world_size == 4);
}
