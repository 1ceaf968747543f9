// mp_parameters: the SDK's validation messages, the library's defaults and world checks.
#include <catch2/catch_test_macros.hpp>

#include "libsmp/core/config.h"

using namespace smp::core;

namespace {
std::vector<std::string> messages(const Problems& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.message);
  return out;
}
bool has(const Problems& ps, const std::string& msg) {
  for (const auto& p : ps)
    if (p.message == msg) return true;
  return false;
}
}  // namespace

TEST_CASE("SDK validate_mp_config messages", "[config]") {
  auto v = [](const char* text) { return sdk_validate_mp_parameters(Json::parse(text), "mp"); };
  CHECK(v(R"({"partitions": 2, "microbatches": 4})").empty());
  CHECK(has(v(R"({"partitions": 2, "pipeline": "gpipe"})"),
            "pipeline must be a value in: ['simple', 'interleaved', '_only_forward']."));
  CHECK(has(v(R"({"partitions": 2, "placement_strategy": "DPT"})"),
            "placement_strategy must be a value in: ['spread', 'cluster']."));
  CHECK(has(v(R"({"partitions": 2, "optimize": "fast"})"),
            "optimize must be a value in: ['speed', 'memory']."));
  CHECK(has(v(R"({"partitions": 0})"), "The number of partitions must be a positive integer."));
  CHECK(has(v(R"({"partitions": 2, "microbatches": 2.0})"),
            "The number of microbatches must be a positive integer."));
  CHECK(has(v(R"({"partitions": 2, "ddp": "yes"})"), "ddp must be a value in: [True, False]."));
  CHECK(v(R"({"partitions": 2, "ddp": 1})").empty());  // Python: 1 in [True, False]
  CHECK(has(v(R"({"partitions": 2, "partition_file": 3})"), "'partition_file' must be a str."));
  CHECK(has(v(R"({"partitions": 2, "auto_partition": false})"),
            "default_partition must be supplied if auto_partition is set to False!"));
  CHECK(has(v(R"({"partitions": 2, "auto_partition": false, "default_partition": 2})"),
            "default_partition must be less than the number of partitions!"));
  CHECK(has(v(R"({"partitions": 2, "memory_weight": 1.5})"),
            "memory_weight must be between 0.0 and 1.0!"));
  CHECK(has(v(R"({"partitions": 2, "ddp_port": 1234})"), "`ddp_port` needs `ddp` to be set as well"));
  CHECK(has(v(R"({"partitions": 2, "ddp_dist_backend": "nccl"})"),
            "`ddp_dist_backend` needs `ddp` to be set as well"));
  CHECK(has(v(R"({"partitions": 2, "ddp": true, "ddp_port": -1})"), "Invalid port number -1."));
  CHECK(has(v(R"({"partitions": 2, "ddp": true, "horovod": true})"),
            "'ddp' and 'horovod' cannot be simultaneously enabled."));
  // Every problem at once, not only the first.
  CHECK(v(R"({"partitions": 0, "pipeline": "x", "optimize": "y"})").size() == 3);
}

TEST_CASE("library defaults", "[config]") {
  Problems ps;
  auto c = parse_config(Json::parse(R"({"partitions": 2, "optimize": "speed"})"), "mp", ps);
  CHECK(ps.empty());
  CHECK(c.pipeline_parallel_degree == 2);
  CHECK(c.microbatches == 1);
  CHECK(c.pipeline == PipelineSchedule::kInterleaved);
  CHECK(c.placement_strategy == "cluster");
  CHECK(c.memory_weight == 0.2);
  CHECK(c.active_microbatches == 4);
  CHECK(c.auto_partition);
  CHECK_FALSE(c.ddp);
}

TEST_CASE("library-level problems", "[config]") {
  Problems ps;
  parse_config(Json::parse(R"({"microbatches": 4})"), "mp", ps);
  REQUIRE(has_errors(ps));
  CHECK(ps[0].field == "mp.partitions");

  ps.clear();
  auto c = parse_config(Json::parse(R"({"pipeline_parallel_degree": 4, "placement_strategy": "PTD"})"), "mp", ps);
  CHECK(ps.empty());
  CHECK(c.pipeline_parallel_degree == 4);
  CHECK(c.placement_letters() == "PTD");

  ps.clear();
  parse_config(Json::parse(R"({"partitions": 2, "pipeline_parallel_degree": 4})"), "mp", ps);
  CHECK(has_errors(ps));

  ps.clear();
  parse_config(Json::parse(R"({"partitions": 2, "colour": "blue"})"), "mp", ps);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].severity == Severity::kWarning);
}

TEST_CASE("world-size checks", "[config]") {
  Problems ps;
  auto c = parse_config(Json::parse(R"({"partitions": 3, "ddp": true})"), "mp", ps);
  auto w = check_world(c, 8, "mp");
  REQUIRE(w.size() == 1);
  CHECK(w[0].message.find("does not divide the number of processes (8)") != std::string::npos);
  CHECK(check_world(c, 6, "mp").empty());
  auto nodpp = parse_config(Json::parse(R"({"partitions": 2})"), "mp", ps);
  CHECK(has_errors(check_world(nodpp, 4, "mp")));
  CHECK(check_world(nodpp, 2, "mp").empty());
  auto tp = parse_config(Json::parse(R"({"partitions": 2, "tensor_parallel_degree": 2, "ddp": true})"), "mp", ps);
  CHECK(check_world(tp, 8, "mp").empty());
  CHECK(libsmp_unsupported(tp, "mp").size() == 1);
  (void)messages;
}
