#include "common/yaml_reader.h"

#include <doctest/doctest.h>

#include <array>

namespace partita::yaml {
namespace {

Node MustParse(const std::string& text) {
  Diagnostics d("t.yaml");
  auto n = Parse(text, d);
  REQUIRE(n);
  return *n;
}

TEST_CASE("MapReader rejects unknown keys with a did-you-mean at the key") {
  Node n = MustParse("listen: x\nmetrcs: y\n");
  Diagnostics d("router.yaml");
  MapReader r(n, d, "the router config", {"listen", "metrics"});
  REQUIRE(d.error_count() == 1);
  CHECK(d.all()[0].ToString() ==
        "router.yaml:2:1: error: unknown key 'metrcs' in the router config; did you mean "
        "'metrics'?");
}

TEST_CASE("Typed reads report the field and the bad value where it is") {
  Node n = MustParse("a: 12.5\nb: low\nc: true\nd: maybe\ne: 7\nf: '7'\ng: [x, y]\nh: ~\n");
  Diagnostics d("t.yaml");
  MapReader r(n, d, "test", {"a", "b", "c", "d", "e", "f", "g", "h"});
  CHECK(r.Double("a", 0) == 12.5);
  CHECK(r.Double("b", -1) == -1);
  CHECK(r.Bool("c", false));
  CHECK_FALSE(r.Bool("d", false));
  CHECK(r.Int("e", 0) == 7);
  CHECK(r.Int("f", 0) == 0);     // quoted: a string, not a number
  CHECK(r.Double("h", 3) == 3);  // null counts as absent
  CHECK(r.Get("zz") == nullptr);
  REQUIRE(d.error_count() == 3);
  CHECK(d.all()[0].ToString() == "t.yaml:2:4: error: expected a number for 'b', got 'low'");
  CHECK(d.all()[1].ToString() == "t.yaml:4:4: error: expected true or false for 'd', got 'maybe'");
  CHECK(d.all()[2].message == "expected a whole number for 'f', got '7'");
  auto list = ReadStringList(*r.Get("g"), d, "g");
  REQUIRE(list);
  CHECK(list->size() == 2);
}

TEST_CASE("Required keys and ranges are named") {
  Node n = MustParse("pct: 120\n");
  Diagnostics d("t.yaml");
  MapReader r(n, d, "device", {"pct", "name"});
  CHECK_FALSE(r.RequireString("name"));
  CHECK_FALSE(r.RequireDoubleIn("pct", 0, 100));
  REQUIRE(d.error_count() == 2);
  CHECK(d.all()[0].message == "missing required key 'name' in device");
  CHECK(d.all()[1].message == "'pct' is 120; it must be between 0 and 100");
}

TEST_CASE("ReadEnum lists the alternatives and suggests a spelling") {
  Node n = MustParse("t: wfi\n");
  Diagnostics d("t.yaml");
  constexpr std::array<std::string_view, 3> kinds = {"wifi", "cellular", "offline"};
  CHECK_FALSE(ReadEnum(*n.Find("t"), d, "network.type", kinds));
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].message ==
        "unknown value 'wfi' for 'network.type'; expected wifi, cellular or offline; did you "
        "mean 'wifi'?");
}

TEST_CASE("A non-map where a map belongs is an error") {
  Node n = MustParse("[1, 2]");
  Diagnostics d("t.yaml");
  MapReader r(n, d, "the catalog", {"a"});
  CHECK_FALSE(r.ok());
  CHECK(d.all()[0].message == "expected a map for the catalog, got a list");
}

}  // namespace
}  // namespace partita::yaml
