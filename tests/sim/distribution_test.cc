#include "sim/distribution.h"

#include <doctest/doctest.h>

#include "common/yaml_tree.h"

namespace partita::sim {
namespace {

std::optional<Distribution> ParseText(const std::string& text, Diagnostics& d, double lo = 0,
                                      double hi = 1e9) {
  auto node = yaml::Parse(text, d);
  REQUIRE(node);
  return Distribution::Parse(*node, d, "x", lo, hi);
}

TEST_CASE("Every distribution form parses and samples within its bounds") {
  for (const char* text :
       {"7", "{fixed: 7}", "{uniform: [2, 9]}", "{normal: {mean: 5, sd: 2, min: 1, max: 9}}",
        "{lognormal: {median: 5, sigma: 0.5, max: 9}}", "{exponential: {mean: 3, max: 9}}"}) {
    Diagnostics d("t.yaml");
    auto dist = ParseText(text, d, 0, 10);
    REQUIRE_MESSAGE(dist, d.ToString());
    Rng rng(1, Stream::kRequest, 2);
    for (int i = 0; i < 2000; ++i) {
      const double v = dist->Sample(rng);
      CHECK(v >= 0);
      CHECK(v <= 10);
    }
  }
}

TEST_CASE("Sampling is a pure function of the stream") {
  Diagnostics d("t.yaml");
  auto dist = ParseText("{lognormal: {median: 24, sigma: 0.5}}", d);
  REQUIRE(dist);
  Rng a(42, Stream::kRequest, 7), b(42, Stream::kRequest, 7), c(43, Stream::kRequest, 7);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const double x = dist->Sample(a);
    CHECK(x == dist->Sample(b));
    differs |= x != dist->Sample(c);
  }
  CHECK(differs);
}

TEST_CASE("The sample mean approaches the analytic mean") {
  Diagnostics d("t.yaml");
  auto dist = ParseText("{lognormal: {median: 20, sigma: 0.4}}", d);
  REQUIRE(dist);
  Rng rng(3, Stream::kRequest, 1);
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) sum += dist->Sample(rng);
  CHECK(sum / n == doctest::Approx(dist->Mean()).epsilon(0.01));
}

TEST_CASE("Malformed distributions are located errors") {
  Diagnostics d("t.yaml");
  CHECK_FALSE(ParseText("{uniform: [5, 1]}", d));
  CHECK(d.all().back().message == "uniform range for 'x' has LO > HI");
  Diagnostics d2("t.yaml");
  CHECK_FALSE(ParseText("{gaussian: {mean: 1}}", d2));
  CHECK(d2.all()[0].message.find("unknown key 'gaussian'") != std::string::npos);
  Diagnostics d3("t.yaml");
  CHECK_FALSE(ParseText("{uniform: [0, 2]}", d3, 0, 1));
  CHECK(d3.all()[0].message == "'x' is 2; it must be between 0 and 1");
}

}  // namespace
}  // namespace partita::sim
