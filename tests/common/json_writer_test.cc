// The one JSON writer: structure, escaping, and plain numbers (never "3.52E2").
#include "common/json_writer.h"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>

namespace partita {
namespace {

std::string Number(double v) {
  std::string out;
  AppendJsonNumber(out, v);
  return out;
}

TEST_CASE("Numbers are plain decimals that read back to the same double") {
  CHECK(Number(352) == "352");
  CHECK(Number(0.0013) == "0.0013");
  CHECK(Number(-2.5) == "-2.5");
  CHECK(Number(1e-7) == "0.0000001");
  CHECK(Number(123456789012.0) == "123456789012");
  CHECK(Number(0.1 + 0.2) == "0.30000000000000004");
  CHECK(Number(1e300) == "1e+300");  // beyond 1e21 plain digits would be noise
  CHECK(Number(std::nan("")) == "null");
  CHECK(Number(std::numeric_limits<double>::infinity()) == "null");
  for (double v : {352.0, 0.0013, 1e-7, 3.14159265358979, 6.02e23, -0.0}) {
    CAPTURE(v);
    CHECK(boost::json::parse(Number(v)).to_number<double>() == v);
  }
}

TEST_CASE("Objects and arrays nest with commas in the right places, strings escaped") {
  JsonWriter j;
  j.BeginObject()
      .Member("text", "say \"hi\"\n\tto\\ all \x01")
      .Key("list")
      .BeginArray()
      .Int(1)
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .Null()
      .EndArray()
      .Member("ok", true)
      .Member("cost", 352.0)
      .EndObject();
  CHECK(j.text() ==
        R"({"text":"say \"hi\"\n\tto\\ all \u0001","list":[1,{},[],null],"ok":true,"cost":352})");
  CHECK(boost::json::parse(j.text()).at("text").as_string() == "say \"hi\"\n\tto\\ all \x01");
}

TEST_CASE("A Boost.JSON value is written with the same numbers") {
  const boost::json::value v = boost::json::parse(R"({"a":3.52e2,"b":[1,-2,0.5],"c":"x"})");
  CHECK(ToJson(v) == R"({"a":352,"b":[1,-2,0.5],"c":"x"})");
}

}  // namespace
}  // namespace partita
