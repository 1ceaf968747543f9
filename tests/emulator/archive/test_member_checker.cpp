// MemberChecker: the extraction policy, decided from headers alone.
#include "emulator/archive/member_checker.h"

#include <catch2/catch_test_macros.hpp>
#include <string>

#include "emulator/archive/archive_error.h"

using namespace smplocal::archive;
using K = MemberKind;

namespace {
// The refusal message for the last member, or "" when everything was admitted.
std::string refusal(const std::vector<std::tuple<std::string, K, std::string>>& members) {
  MemberChecker c;
  try {
    for (const auto& [name, kind, link] : members) c.admit(name, kind, link, "FIFO");
    c.check_symlinks();
  } catch (const ArchiveError& e) {
    return e.what();
  }
  return "";
}
bool refused(const std::vector<std::tuple<std::string, K, std::string>>& members) {
  return !refusal(members).empty();
}
}  // namespace

TEST_CASE("names are normalized and must stay relative", "[archive][extract]") {
  MemberChecker c;
  CHECK(c.admit("./a//b/", K::kDirectory) == "a/b");
  CHECK(c.admit("./", K::kDirectory).empty());
  CHECK(c.admit("a/./c", K::kFile) == "a/c");
  CHECK(refused({{"../x", K::kFile, ""}}));
  CHECK(refused({{"/etc/x", K::kFile, ""}}));
  CHECK(refused({{"a/../../x", K::kFile, ""}}));
  CHECK(refused({{"a/../b", K::kFile, ""}}));  // any ".." at all
  CHECK(refused({{"", K::kFile, ""}}));
  CHECK(refused({{".", K::kFile, ""}}));
  CHECK(refusal({{"../x", K::kFile, ""}}).find("'../x'") != std::string::npos);
}

TEST_CASE("special files are refused by type", "[archive][extract]") {
  CHECK(refusal({{"p", K::kOther, ""}}).find("FIFO") != std::string::npos);
}

TEST_CASE("symlinks must resolve inside the destination", "[archive][extract]") {
  CHECK_FALSE(refused({{"a/l", K::kSymlink, "../b"}, {"b", K::kFile, ""}}));
  CHECK_FALSE(refused({{"l", K::kSymlink, "missing/inside"}}));
  CHECK(refused({{"l", K::kSymlink, "/etc"}}));
  CHECK(refused({{"l", K::kSymlink, ".."}}));
  CHECK(refused({{"a/l", K::kSymlink, "../../x"}}));
  CHECK(refused({{"l", K::kSymlink, ""}}));
  // Chains: each link alone looks inside, together they leave — in either order.
  CHECK(refused({{"p/q/s", K::kSymlink, "../.."}, {"t", K::kSymlink, "p/q/s/../.."}}));
  CHECK(refused({{"t", K::kSymlink, "p/q/s/../.."}, {"p/q/s", K::kSymlink, "../.."}}));
  CHECK(refused({{"a", K::kSymlink, "b"}, {"b", K::kSymlink, "a"}}));  // a loop
  CHECK(refusal({{"l", K::kSymlink, "/etc"}}).find("'l'") != std::string::npos);
}

TEST_CASE("nothing is written through or over a symlink", "[archive][extract]") {
  CHECK(refused({{"l", K::kSymlink, "d"}, {"l/x", K::kFile, ""}}));
  CHECK(refused({{"l/x", K::kFile, ""}, {"l", K::kSymlink, "d"}}));
  CHECK(refused({{"l", K::kSymlink, "d"}, {"l", K::kFile, ""}}));
  CHECK(refused({{"l", K::kFile, ""}, {"l", K::kSymlink, "d"}}));
  CHECK(refused({{"d", K::kDirectory, ""}, {"d", K::kSymlink, "e"}}));
  CHECK(refused({{"d", K::kDirectory, ""}, {"d", K::kFile, ""}}));
  CHECK(refused({{"f", K::kFile, ""}, {"f/x", K::kFile, ""}}));
  CHECK_FALSE(refused({{"l", K::kSymlink, "a"}, {"l", K::kSymlink, "b"}}));  // last one wins
  CHECK_FALSE(refused({{"f", K::kFile, ""}, {"f", K::kFile, ""}}));
}

TEST_CASE("hard links only to regular files earlier in the archive", "[archive][extract]") {
  CHECK_FALSE(refused({{"f", K::kFile, ""}, {"h", K::kHardlink, "./f"}}));
  CHECK(refused({{"h", K::kHardlink, "f"}, {"f", K::kFile, ""}}));
  CHECK(refused({{"h", K::kHardlink, "/etc/passwd"}}));
  CHECK(refused({{"h", K::kHardlink, "../outside"}}));
  CHECK(refused({{"d", K::kDirectory, ""}, {"h", K::kHardlink, "d"}}));
  CHECK(refused({{"l", K::kSymlink, "x"}, {"h", K::kHardlink, "l"}}));
}
