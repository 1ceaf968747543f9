// init, configuration checks, queries, groups and the object helpers, under mpirun.
// "[before-init]" must run first in its process (it checks the errors before smp::init).
#include "catch_torch.h"

#include <cstdlib>

#include "harness.h"
#include "libsmp/core/topology.h"

using Catch::Matchers::ContainsSubstring;

namespace {
int env_rank() {
  const char* v = std::getenv("OMPI_COMM_WORLD_RANK");
  return v ? std::atoi(v) : 0;
}
}  // namespace

TEST_CASE("every API call before smp::init fails with a clear message", "[before-init]") {
  const auto msg = ContainsSubstring("smp::init() has not been called");
  CHECK_THROWS_WITH(smp::rank(), msg);
  CHECK_THROWS_WITH(smp::pp_size(), msg);
  CHECK_THROWS_WITH(smp::get_dp_group(), msg);
  CHECK_THROWS_WITH(smp::barrier(), msg);
  CHECK_THROWS_WITH(smp::broadcast(c10::IValue(1), smp::WORLD), msg);
  CHECK_THROWS_WITH(smp::save(c10::IValue(1), "/tmp/x", true), msg);
  CHECK_THROWS_WITH(smp::step([](const smp::Inputs&) { return smp::Returns{}; }, smp::Inputs{}), msg);
  CHECK_THROWS_WITH(smp::DistributedModel(torch::nn::Sequential(torch::nn::Linear(2, 2))), msg);
  CHECK_FALSE(smp::is_initialized());
}

TEST_CASE("invalid configurations fail with the problem and its fix", "[config]") {
  int world = smptest::world_size_from_env();
  smp::InitOptions o;
  o.use_environment = false;
  CHECK_THROWS_WITH(smp::init(smp::Json{{"partitions", 1}, {"pipeline", "zigzag"}}, o),
                    ContainsSubstring("pipeline must be one of"));
  CHECK_THROWS_WITH(smp::init(smp::Json{{"microbatches", 2}}, o),
                    ContainsSubstring("partitions"));
  CHECK_THROWS_WITH(smp::init(smp::Json{{"partitions", world + 1}}, o),
                    ContainsSubstring("does not divide"));
  CHECK_THROWS_WITH(smp::init(smp::Json{{"partitions", 1}, {"fp16", true}}, o),
                    ContainsSubstring("libsmp does not implement"));
  if (world > 1)
    CHECK_THROWS_WITH(smp::init(smp::Json{{"partitions", 1}}, o), ContainsSubstring("\"ddp\": true"));
  CHECK_FALSE(smp::is_initialized());
}

TEST_CASE("placement permutations of D, P, T are accepted (the SDK's spread/cluster-only check is not the library's)",
          "[config]") {
  smp::InitOptions o;
  o.use_environment = false;
  smp::init(smp::Json{{"partitions", 1}, {"placement_strategy", "PTD"}, {"ddp", true}}, o);
  CHECK(smp::is_initialized());
  smp::shutdown(false);
}

TEST_CASE("init reads SM_HP_MP_PARAMETERS; the launcher's values override the script's", "[config]") {
  int world = smptest::world_size_from_env();
  std::string env = "{\"partitions\": " + std::to_string(world) + ", \"microbatches\": 4}";
  setenv("SM_HP_MP_PARAMETERS", env.c_str(), 1);
  smp::init();
  CHECK(smp::pp_size() == world);
  CHECK(smp::mp_parameters().at("microbatches") == 4);
  smp::shutdown(false);
  smp::init(smp::Json{{"partitions", world}, {"microbatches", 2}, {"pipeline", "simple"}});
  CHECK(smp::mp_parameters().at("microbatches") == 4);       // from the environment
  CHECK(smp::mp_parameters().at("pipeline") == "simple");    // only in the script's dict
  smp::shutdown(false);
  setenv("SM_HP_MP_PARAMETERS", "{not json", 1);
  CHECK_THROWS_WITH(smp::init(), ContainsSubstring("SM_HP_MP_PARAMETERS is not a JSON object"));
  unsetenv("SM_HP_MP_PARAMETERS");
  CHECK_THROWS_WITH(smp::init(), ContainsSubstring("SM_HP_MP_PARAMETERS is not set"));
}

TEST_CASE("configurations that differ across ranks fail on every rank", "[config]") {
  if (smptest::world_size_from_env() < 2) SKIP("needs 2 or more ranks");
  smp::InitOptions o;
  o.use_environment = false;
  smp::Json cfg = {{"partitions", smptest::world_size_from_env()}, {"microbatches", 1 + env_rank() % 2}};
  CHECK_THROWS_WITH(smp::init(cfg, o), ContainsSubstring("differs across ranks"));
  CHECK_FALSE(smp::is_initialized());
}

TEST_CASE("queries and group members follow the placement", "[groups]") {
  const int world = smptest::world_size_from_env();
  const int pp = world % 2 == 0 ? 2 : 1;
  for (const char* placement : {"cluster", "spread"}) {  // the SDK rejects letter strings
    INFO("placement " << placement);
    smptest::init_for_test({{"partitions", pp}, {"ddp", world / pp > 1}, {"placement_strategy", placement}});
    smp::core::Topology topo(world, pp, 1, placement);
    auto c = topo.coords(smp::rank());
    CHECK(smp::rank() == env_rank());
    CHECK(smp::size() == world);
    CHECK(smp::local_rank() == smp::rank());  // one host
    CHECK(smp::local_size() == world);
    CHECK(smp::pp_rank() == c.pp_rank);
    CHECK(smp::pp_size() == pp);
    CHECK(smp::dp_rank() == c.dp_rank);
    CHECK(smp::dp_size() == world / pp);
    CHECK(smp::mp_rank() == c.mp_rank);
    CHECK(smp::mp_size() == pp);
    CHECK(smp::rdp_rank() == c.rdp_rank);
    CHECK(smp::tp_rank() == 0);
    CHECK(smp::tp_size() == 1);
    CHECK(smp::get_pp_group() == topo.group(smp::core::CommGroup::kPp, smp::rank()));
    CHECK(smp::get_dp_group() == topo.group(smp::core::CommGroup::kDp, smp::rank()));
    CHECK(smp::get_mp_group() == topo.group(smp::core::CommGroup::kMp, smp::rank()));
    CHECK(smp::get_rdp_group() == topo.group(smp::core::CommGroup::kRdp, smp::rank()));
    CHECK(smp::get_tp_group() == std::vector<int>{smp::rank()});
    CHECK(smp::get_world_group().size() == static_cast<size_t>(world));
    CHECK(smp::group_rank(smp::DP_GROUP) == c.dp_rank);
    CHECK(smp::group_rank(smp::MP_GROUP) == c.mp_rank);
    CHECK(smp::global_rank_of(0, smp::RankType::DP_RANK) == smp::get_dp_group()[0]);
    CHECK_THROWS_WITH(smp::global_rank_of(world, smp::RankType::WORLD_RANK),
                      ContainsSubstring("does not exist"));
    smp::shutdown(false);
  }
}

TEST_CASE("object helpers: broadcast + recv_from, send, allgather, barrier", "[objects]") {
  const int world = smptest::world_size_from_env();
  const int pp = world % 2 == 0 ? 2 : 1;
  for (const char* placement : {"cluster", "spread"}) {
    INFO("placement " << placement);
    smptest::init_for_test({{"partitions", pp}, {"ddp", world / pp > 1}, {"placement_strategy", placement}});
    smp::barrier();
    smp::dp_barrier();
    smp::mp_barrier();

    // WORLD broadcast from rank 0: a dict with a tensor, a string and a number.
    if (smp::rank() == 0) {
      c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
      d.insert("tensor", torch::arange(4));
      d.insert("text", std::string("hello"));
      d.insert("n", int64_t{42});
      smp::broadcast(d, smp::WORLD);
    } else {
      auto d = smp::recv_from(0, smp::RankType::WORLD_RANK).toGenericDict();
      CHECK(d.at("tensor").toTensor().equal(torch::arange(4)));
      CHECK(d.at("text").toStringRef() == "hello");
      CHECK(d.at("n").toInt() == 42);
    }
    // Within the MP group, mp_rank 0 sends to every other mp_rank by MP_RANK numbering.
    if (smp::mp_rank() == 0) {
      for (int r = 1; r < smp::mp_size(); ++r)
        smp::send(c10::IValue(int64_t{100 + smp::rank()}), r, smp::RankType::MP_RANK);
    } else {
      auto v = smp::recv_from(0, smp::RankType::MP_RANK);
      CHECK(v.toInt() == 100 + smp::get_mp_group()[0]);
    }
    // Allgather over the DP group: member i's object at index i.
    auto all = smp::allgather(c10::IValue(int64_t{smp::rank()}), smp::DP_GROUP);
    auto members = smp::get_dp_group();
    REQUIRE(all.size() == members.size());
    for (size_t i = 0; i < all.size(); ++i) CHECK(all[i].toInt() == members[i]);
    // Bytes, and a mismatched receive names what was sent.
    if (world > 1) {
      if (smp::rank() == 0) {
        smp::send_bytes(std::string("\x00\x01raw", 5), 1);
        smp::send(c10::IValue(1.5), 1);
      } else if (smp::rank() == 1) {
        CHECK(smp::recv_bytes_from(0) == std::string("\x00\x01raw", 5));
        CHECK_THROWS_WITH(smp::recv_bytes_from(0), ContainsSubstring("does not match this call"));
      }
    }
    smp::barrier();
    smp::shutdown(false);
  }
}
