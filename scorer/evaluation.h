// How well a difficulty score routes: prompts are sent to the strong model in order of score,
// highest first, and the rest to the weak one. Rows with equal scores are split at random, so
// the accuracy inside a group of ties is interpolated (its expected value). Pure functions.
#pragma once

#include <cstddef>
#include <vector>

#include "scorer/labeled_data.h"

namespace partita::scorer {

struct CurvePoint {
  double strong_share = 0;  // of prompts sent to the strong model
  double accuracy = 0;      // of the routed answers
};

struct RoutingEvaluation {
  std::size_t rows = 0;
  double weak_accuracy = 0;
  double strong_accuracy = 0;
  double auc = 0;  // of the score for "weak answers wrong" (0.5: no better than chance)
  // Share of prompts on the strong model needed for 95% of its accuracy (1 if never reached).
  double share_for_95 = 0;
  double random_share_for_95 = 0;
  double oracle_share_for_95 = 0;  // an oracle of the label: knows when the weak model is wrong
  std::vector<CurvePoint> curve;   // from share 0 to 1, one point per group of ties
};

// `scores[i]` belongs to `rows[i]`; higher means more in need of the strong model.
RoutingEvaluation EvaluateRouting(const std::vector<LabeledPrompt>& rows,
                                  const std::vector<double>& scores,
                                  double fraction_of_strong = 0.95);

// P(correct) = 1 / (1 + exp(-(intercept + slope * score))), fitted by maximum likelihood
// (Newton's method, deterministic) to one label column against the scores; with the observed
// and fitted accuracy in `bins` equal-count bins of score, to judge the fit.
struct QualityFit {
  double intercept = 0;
  double slope = 0;
  std::size_t rows = 0;
  double accuracy = 0;  // observed, over all rows
  struct Bin {
    double score_lo = 0, score_hi = 0;
    std::size_t rows = 0;
    double observed = 0, fitted = 0;
  };
  std::vector<Bin> bins;
};
QualityFit FitQualityCurve(const std::vector<double>& scores, const std::vector<bool>& correct,
                           int bins = 10);

// The score that sends `strong_share` of these rows to the strong model: rows scoring at or
// above it go there.
double ThresholdForShare(std::vector<double> scores, double strong_share);

}  // namespace partita::scorer
