#include "scorer/evaluation.h"

#include <doctest/doctest.h>

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

}  // namespace
}  // namespace partita::scorer
