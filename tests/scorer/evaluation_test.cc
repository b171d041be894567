#include "scorer/evaluation.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

namespace partita::scorer {
namespace {

LabeledPrompt Row(bool weak, bool strong) {
  LabeledPrompt r;
  r.weak_correct = weak;
  r.strong_correct = strong;
  return r;
}

TEST_CASE("routing evaluation: AUC, strong share for 95%, random and oracle") {
  // Ten prompts: weak right on 6, strong right on 9. The weak model's 4 misses, 3 of which the
  // strong model gets right, score highest.
  std::vector<LabeledPrompt> rows = {
      Row(false, true), Row(false, true), Row(false, true), Row(false, false), Row(true, true),
      Row(true, true),  Row(true, true),  Row(true, true),  Row(true, true),   Row(true, true)};
  std::vector<double> perfect = {0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
  RoutingEvaluation e = EvaluateRouting(rows, perfect);
  CHECK(e.weak_accuracy == doctest::Approx(0.6));
  CHECK(e.strong_accuracy == doctest::Approx(0.9));
  CHECK(e.auc == doctest::Approx(1.0));
  // Target 0.855: the tie group of 4 gains 0.3 in all; 0.255 of it needs 0.85 of the group.
  CHECK(e.share_for_95 == doctest::Approx(0.34));
  CHECK(e.oracle_share_for_95 == doctest::Approx(0.34));
  // Random: 0.6 + s * 0.3 = 0.855.
  CHECK(e.random_share_for_95 == doctest::Approx(0.85));
  // Scores backwards: AUC 0, and the misses are routed last.
  std::vector<double> backwards(perfect.size());
  for (std::size_t i = 0; i < rows.size(); ++i) backwards[i] = 1 - perfect[i];
  RoutingEvaluation b = EvaluateRouting(rows, backwards);
  CHECK(b.auc == doctest::Approx(0.0));
  CHECK(b.share_for_95 == doctest::Approx(0.6 + 0.34));
  // The curve runs from the weak model's accuracy at 0 to the strong one's at 1.
  CHECK(e.curve.front().strong_share == 0);
  CHECK(e.curve.front().accuracy == doctest::Approx(0.6));
  CHECK(e.curve.back().strong_share == doctest::Approx(1.0));
  CHECK(e.curve.back().accuracy == doctest::Approx(0.9));
}

TEST_CASE("threshold for a strong share: scores at or above it go to the strong model") {
  std::vector<double> scores = {0.1, 0.9, 0.5, 0.7, 0.3};
  const double t = ThresholdForShare(scores, 0.4);
  int above = 0;
  for (double s : scores) above += s >= t;
  CHECK(above == 2);
  CHECK(t == doctest::Approx(0.7));
  int none = 0;
  for (double s : scores) none += s >= ThresholdForShare(scores, 0);
  CHECK(none == 0);
}

TEST_CASE("a quality curve fitted to labels recovers the curve that drew them") {
  // 20,000 outcomes drawn from P(correct) = 1 / (1 + exp(-(2 - 4 x))), x uniform in [0, 1].
  std::mt19937_64 rng(5);
  std::vector<double> scores;
  std::vector<bool> correct;
  for (int i = 0; i < 20000; ++i) {
    const double x = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    scores.push_back(x);
    correct.push_back(u < 1 / (1 + std::exp(-(2 - 4 * x))));
  }
  const QualityFit fit = FitQualityCurve(scores, correct, 4);
  CHECK(fit.rows == 20000);
  CHECK(fit.intercept == doctest::Approx(2).epsilon(0.1));
  CHECK(fit.slope == doctest::Approx(-4).epsilon(0.1));
  REQUIRE(fit.bins.size() == 4);
  CHECK(fit.bins.front().observed > fit.bins.back().observed);
  for (const QualityFit::Bin& b : fit.bins) {
    CHECK(b.rows == 5000);
    CHECK(b.fitted == doctest::Approx(b.observed).epsilon(0.05));
  }
}

}  // namespace
}  // namespace partita::scorer
