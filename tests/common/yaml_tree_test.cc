#include "common/yaml_tree.h"

#include <doctest/doctest.h>

#include <string>

namespace partita::yaml {
namespace {

std::optional<Node> ParseText(const std::string& text, Diagnostics& d, ParseLimits limits = {}) {
  return Parse(text, d, limits);
}

TEST_CASE("Parse keeps 1-based line and column of every node and key") {
  Diagnostics d("f.yaml");
  auto root = ParseText("a: 1\nb:\n  - x\n  - {c: d}\n", d);
  REQUIRE(root);
  REQUIRE(root->IsMap());
  REQUIRE(root->entries.size() == 2);
  CHECK(root->entries[0].first.location.line == 1);
  CHECK(root->entries[0].first.location.column == 1);
  CHECK(root->entries[0].second.scalar == "1");
  CHECK(root->entries[0].second.location.column == 4);
  const Node* b = root->Find("b");
  REQUIRE(b != nullptr);
  REQUIRE(b->IsSequence());
  CHECK(b->items[0].location.line == 3);
  CHECK(b->items[0].location.column == 5);
  CHECK(b->items[1].Find("c")->scalar == "d");
  CHECK(b->items[1].Find("c")->location.line == 4);
}

TEST_CASE("Quoted scalars are marked so '20' is not read as a number") {
  Diagnostics d("f.yaml");
  auto root = ParseText("a: \"20\"\nb: 20\n", d);
  REQUIRE(root);
  CHECK(root->Find("a")->quoted);
  CHECK_FALSE(root->Find("b")->quoted);
}

TEST_CASE("Syntax errors are located") {
  Diagnostics d("bad.yaml");
  CHECK_FALSE(ParseText("a: [1, 2\nb: 3\n", d));
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].location.line > 0);
  CHECK(d.all()[0].message.find("YAML syntax") == 0);
}

TEST_CASE("Aliases are refused with their location") {
  Diagnostics d("alias.yaml");
  CHECK_FALSE(ParseText("a: &x [1, 2]\nb: *x\n", d));
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].location.line == 2);
  CHECK(d.all()[0].message.find("aliases") != std::string::npos);
}

TEST_CASE("Duplicate keys are refused, naming the first occurrence") {
  Diagnostics d("dup.yaml");
  CHECK_FALSE(ParseText("a: 1\nb: 2\na: 3\n", d));
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].location.line == 3);
  CHECK(d.all()[0].message == "duplicate key 'a' (first at line 1)");
}

TEST_CASE("Deep nesting is refused without exhausting the stack") {
  std::string deep(100000, '[');
  Diagnostics d("deep.yaml");
  CHECK_FALSE(ParseText(deep, d));
  CHECK(d.has_errors());
  std::string nested;
  for (int i = 0; i < 70; ++i) nested += std::string(i * 2, ' ') + "k:\n";
  Diagnostics d2("nested.yaml");
  CHECK_FALSE(ParseText(nested, d2));
  REQUIRE(d2.has_errors());
  CHECK(d2.all()[0].message.find("nesting deeper than 64") != std::string::npos);
}

TEST_CASE("Size, node count, multiple documents and complex keys are refused") {
  Diagnostics d("big.yaml");
  ParseLimits small;
  small.max_bytes = 10;
  CHECK_FALSE(ParseText("a: 123456789012", d, small));
  CHECK(d.all()[0].message.find("limit") != std::string::npos);

  Diagnostics d2("many.yaml");
  ParseLimits few;
  few.max_nodes = 5;
  CHECK_FALSE(ParseText("[1, 2, 3, 4, 5, 6, 7]", d2, few));

  Diagnostics d3("two.yaml");
  CHECK_FALSE(ParseText("a: 1\n---\nb: 2\n", d3));
  CHECK(d3.all()[0].message.find("one YAML document") != std::string::npos);

  Diagnostics d4("key.yaml");
  CHECK_FALSE(ParseText("? [a, b]\n: c\n", d4));
  CHECK(d4.all()[0].message.find("map keys") != std::string::npos);

  Diagnostics d5("nul.yaml");
  CHECK_FALSE(ParseText(std::string("a: 1\0", 5), d5));
}

TEST_CASE("An empty document is a null node") {
  Diagnostics d("empty.yaml");
  auto root = ParseText("", d);
  REQUIRE(root);
  CHECK(root->IsNull());
  CHECK_FALSE(d.has_errors());
}

TEST_CASE("ParseFile reports a missing file without a location") {
  Diagnostics d("/nonexistent/x.yaml");
  CHECK_FALSE(ParseFile("/nonexistent/x.yaml", d));
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].location.line == 0);
  CHECK(d.all()[0].message.find("cannot open") != std::string::npos);
}

}  // namespace
}  // namespace partita::yaml
