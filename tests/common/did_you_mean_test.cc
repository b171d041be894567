#include "common/did_you_mean.h"

#include <doctest/doctest.h>

#include <array>

namespace partita {
namespace {

constexpr std::array<std::string_view, 4> kFields = {"battery_pct", "charging", "thermal",
                                                     "free_mem_mb"};

TEST_CASE("EditDistance counts insertions, deletions, substitutions and transpositions") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("abc", "abc") == 0);
  CHECK(EditDistance("abc", "abd") == 1);
  CHECK(EditDistance("abc", "acb") == 1);
  CHECK(EditDistance("abc", "") == 3);
  CHECK(EditDistance("kitten", "sitting") == 3);
}

TEST_CASE("ClosestMatch suggests plausible typos only") {
  CHECK(ClosestMatch("batery_pct", kFields) == std::optional<std::string_view>("battery_pct"));
  CHECK(ClosestMatch("chargin", kFields) == std::optional<std::string_view>("charging"));
  CHECK(ClosestMatch("battery", kFields) == std::optional<std::string_view>("battery_pct"));
  CHECK_FALSE(ClosestMatch("zzz", kFields).has_value());
  CHECK(DidYouMean("thermall", kFields) == "; did you mean 'thermal'?");
  CHECK(DidYouMean("qqqqqq", kFields).empty());
}

TEST_CASE("ClosestMatch suggests a name one of whose parts is misspelt") {
  CHECK(ClosestMatch("battry", kFields) == std::optional<std::string_view>("battery_pct"));
  CHECK(ClosestMatch("batery", kFields) == std::optional<std::string_view>("battery_pct"));
  CHECK_FALSE(ClosestMatch("pct", kFields).has_value());  // too short to guess from
  CHECK_FALSE(ClosestMatch("lotion", kFields).has_value());
}

TEST_CASE("JoinAlternatives lists names in prose") {
  constexpr std::array<std::string_view, 3> three = {"a", "b", "c"};
  CHECK(JoinAlternatives(three) == "a, b or c");
  CHECK(JoinAlternatives(std::span(three).first(1)) == "a");
}

}  // namespace
}  // namespace partita
