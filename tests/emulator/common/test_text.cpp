#include <catch2/catch_test_macros.hpp>

#include "emulator/common/text.h"

using smplocal::json_text;
using smplocal::utf8_prefix;

TEST_CASE("utf8_prefix counts characters and never splits one") {
  CHECK(utf8_prefix("abc", 2) == "ab");
  CHECK(utf8_prefix("h\xC3\xA9llo", 2) == "h\xC3\xA9");        // é is one character
  CHECK(utf8_prefix("\xF0\x9F\x98\x80x", 1) == "\xF0\x9F\x98\x80");  // so is an emoji
  CHECK(utf8_prefix("abc", 10) == "abc");
}

TEST_CASE("utf8_prefix replaces invalid and cut sequences with U+FFFD") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(utf8_prefix("a\xFF" "b", 10) == "a" + fffd + "b");
  CHECK(utf8_prefix("a\xC3", 10) == "a" + fffd);              // cut at the end
  CHECK(utf8_prefix("\xC0\xAF", 10) == fffd + fffd);          // overlong '/'
  CHECK(utf8_prefix("\xED\xA0\x80", 10) == fffd + fffd + fffd);  // a UTF-16 surrogate
}

TEST_CASE("json_text writes invalid UTF-8 as U+FFFD instead of throwing") {
  smp::core::Json j = {{"stderr", std::string("bad \xC3")}};
  CHECK_THROWS(j.dump());
  CHECK(json_text(j, -1) == "{\"stderr\":\"bad \xEF\xBF\xBD\"}");
}
