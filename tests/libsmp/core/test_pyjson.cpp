// Python's json/str/repr spellings, checked against what CPython 3 prints.
#include <catch2/catch_test_macros.hpp>
#include <cmath>

#include "libsmp/core/pyjson.h"

using namespace smp::core;

TEST_CASE("float repr matches Python", "[pyjson]") {
  CHECK(py_float_repr(0.01) == "0.01");
  CHECK(py_float_repr(1e16) == "1e+16");
  CHECK(py_float_repr(1e15) == "1000000000000000.0");
  CHECK(py_float_repr(0.0001) == "0.0001");
  CHECK(py_float_repr(1e-5) == "1e-05");
  CHECK(py_float_repr(1.2345678901234568e+17) == "1.2345678901234568e+17");
  CHECK(py_float_repr(1.5e-7) == "1.5e-07");
  CHECK(py_float_repr(2.0) == "2.0");
  CHECK(py_float_repr(-0.0) == "-0.0");
  CHECK(py_float_repr(0.0002) == "0.0002");
}

TEST_CASE("json.dumps default and compact styles", "[pyjson]") {
  Json v = Json::parse(R"({"partitions": 2, "microbatches": 4, "ddp": true})");
  CHECK(py_dumps(v) == R"({"partitions": 2, "microbatches": 4, "ddp": true})");
  CHECK(py_dumps_compact(v) == R"({"ddp":true,"microbatches":4,"partitions":2})");
  Json u = Json::parse("{\"b\":\"\xC3\xA9\x7F\xE2\x82\xAC\xF0\x9F\x98\x80\",\"a\":[1,2.5,null,true]}");
  CHECK(py_dumps_compact(u) ==
        R"({"a":[1,2.5,null,true],"b":"\u00e9\u007f\u20ac\ud83d\ude00"})");
  CHECK(py_dumps(Json("adam")) == "\"adam\"");
  CHECK(py_dumps(Json("tab\tq\"")) == R"("tab\tq\"")");
}

TEST_CASE("json.loads accepts what Python accepts", "[pyjson]") {
  CHECK(py_loads("true").value() == Json(true));
  CHECK(py_loads("1e-3").value().get<double>() == 0.001);
  CHECK(std::isnan(py_loads("NaN").value().get<double>()));
  CHECK_FALSE(py_loads("abc").has_value());
  CHECK_FALSE(py_loads("01").has_value());
  CHECK(py_loads("\"x\"").value() == Json("x"));
}

TEST_CASE("str and repr of decoded values", "[pyjson]") {
  CHECK(py_str(Json(true)) == "True");
  CHECK(py_str(Json(nullptr)) == "None");
  CHECK(py_str(Json("plain")) == "plain");
  CHECK(py_str(Json::parse("[1, 2]")) == "[1, 2]");
  CHECK(py_str(Json::parse(R"(["a", "b"])")) == "['a', 'b']");
  CHECK(py_repr(Json("it's")) == "\"it's\"");
  CHECK(py_repr(Json("say \"hi\"")) == "'say \"hi\"'");
  CHECK(py_repr(Json("both ' \"")) == "'both \\' \"'");
  CHECK(py_str(Json::parse(R"({"a": {"b": 1.0}})")) == "{'a': {'b': 1.0}}");
}
