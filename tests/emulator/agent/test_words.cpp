// The host agent's word splitting of Open MPI's remote orted command.
#include <catch2/catch_test_macros.hpp>

#include "emulator/agent/words.h"
#include "emulator/common/error.h"

using smplocal::split_shell_words;
using V = std::vector<std::string>;

TEST_CASE("quotes and spaces as a POSIX shell splits them", "[agent]") {
  CHECK(split_shell_words(R"(  orted -mca ess "env" -mca orte_hnp_uri "1.0;tcp://10.0.0.1:33" )") ==
        V{"orted", "-mca", "ess", "env", "-mca", "orte_hnp_uri", "1.0;tcp://10.0.0.1:33"});
  CHECK(split_shell_words(R"(a 'b c' "d \"e\"" f\ g)") == V{"a", "b c", "d \"e\"", "f g"});
  CHECK(split_shell_words(R"(x"y"'z')") == V{"xyz"});
}

TEST_CASE("shell syntax is refused rather than interpreted", "[agent]") {
  CHECK_THROWS_AS(split_shell_words("PATH=/x ; export PATH ; orted"), smplocal::Error);
  CHECK_THROWS_AS(split_shell_words("orted $(id)"), smplocal::Error);
  CHECK_THROWS_AS(split_shell_words("orted \"unbalanced"), smplocal::Error);
  CHECK_THROWS_AS(split_shell_words("a | b"), smplocal::Error);
}
