// Auto-partitioning's arithmetic: weighted costs and the contiguous min-max split.
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>

#include <stdexcept>

#include "libsmp/core/partition.h"

using namespace smp::core;

TEST_CASE("costs weigh time share against memory share", "[partition]") {
  std::vector<ChildProfile> c = {{"a", 3.0, 100, 0}, {"b", 1.0, 300, 0}};
  auto time_only = partition_costs(c, 0.0);
  CHECK(time_only[0] == Catch::Approx(0.75));
  CHECK(time_only[1] == Catch::Approx(0.25));
  auto memory_only = partition_costs(c, 1.0);
  CHECK(memory_only[0] == Catch::Approx(0.25));
  auto mixed = partition_costs(c, 0.5);
  CHECK(mixed[0] == Catch::Approx(0.5));
  CHECK(mixed[1] == Catch::Approx(0.5));
}

TEST_CASE("contiguous split minimizes the most expensive stage", "[partition]") {
  CHECK(balance_stages({1, 1, 1, 1}, 2) == std::vector<int>{0, 0, 1, 1});
  CHECK(balance_stages({4, 1, 1, 1, 1}, 2) == std::vector<int>{0, 1, 1, 1, 1});
  CHECK(balance_stages({1, 1, 1, 1, 4}, 2) == std::vector<int>{0, 0, 0, 0, 1});
  CHECK(balance_stages({5, 1, 1, 1}, 4) == std::vector<int>{0, 1, 2, 3});
  CHECK(balance_stages({2, 2, 2}, 1) == std::vector<int>{0, 0, 0});
  CHECK_THROWS_AS(balance_stages({1, 1}, 3), std::invalid_argument);
}
