#include "scorer/evaluation.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace partita::scorer {

namespace {

struct Curve {
  std::vector<CurvePoint> points;
  double share_for_target = 1;
};

// Routes in descending order of `scores`, ties interpolated.
Curve RouteCurve(const std::vector<LabeledPrompt>& rows, const std::vector<double>& scores,
                 double target_accuracy) {
  const std::size_t n = rows.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  double correct = 0;
  for (const LabeledPrompt& r : rows) correct += r.weak_correct;
  Curve c;
  c.points.push_back({0, n ? correct / n : 0});
  bool found = n > 0 && correct / n >= target_accuracy;
  if (found) c.share_for_target = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    double gain = 0;
    while (j < n && scores[order[j]] == scores[order[i]]) {
      gain += static_cast<double>(rows[order[j]].strong_correct) - rows[order[j]].weak_correct;
      ++j;
    }
    const double before = correct / n;
    correct += gain;
    const double after = correct / n;
    if (!found && after >= target_accuracy) {
      const double t = after > before ? (target_accuracy - before) / (after - before) : 0;
      c.share_for_target = (i + t * (j - i)) / static_cast<double>(n);
      found = true;
    }
    c.points.push_back({static_cast<double>(j) / n, after});
    i = j;
  }
  return c;
}

// Mann-Whitney AUC with average ranks for ties: P(score of a positive > score of a negative).
double Auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, pos = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (i + 1 + j) / 2.0;  // average of ranks i+1..j
    for (std::size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        rank_sum += rank;
        ++pos;
      }
    }
    i = j;
  }
  const double neg = static_cast<double>(n) - pos;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

}  // namespace

RoutingEvaluation EvaluateRouting(const std::vector<LabeledPrompt>& rows,
                                  const std::vector<double>& scores, double fraction_of_strong) {
  RoutingEvaluation e;
  e.rows = rows.size();
  if (rows.empty()) return e;
  double weak = 0, strong = 0;
  std::vector<bool> weak_wrong(rows.size());
  std::vector<double> oracle(rows.size()), random(rows.size(), 0.0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    weak += rows[i].weak_correct;
    strong += rows[i].strong_correct;
    weak_wrong[i] = !rows[i].weak_correct;
    oracle[i] = rows[i].weak_correct ? 0.0 : 1.0;
  }
  e.weak_accuracy = weak / rows.size();
  e.strong_accuracy = strong / rows.size();
  const double target = fraction_of_strong * e.strong_accuracy;
  e.auc = Auc(scores, weak_wrong);
  Curve c = RouteCurve(rows, scores, target);
  e.share_for_95 = c.share_for_target;
  e.curve = std::move(c.points);
  e.random_share_for_95 = RouteCurve(rows, random, target).share_for_target;
  e.oracle_share_for_95 = RouteCurve(rows, oracle, target).share_for_target;
  return e;
}

QualityFit FitQualityCurve(const std::vector<double>& scores, const std::vector<bool>& correct,
                           int bins) {
  QualityFit fit;
  const std::size_t n = std::min(scores.size(), correct.size());
  fit.rows = n;
  if (n == 0) return fit;
  double right = 0;
  for (std::size_t i = 0; i < n; ++i) right += correct[i] ? 1 : 0;
  fit.accuracy = right / n;
  const double base = std::clamp(fit.accuracy, 1e-6, 1 - 1e-6);
  double a = std::log(base / (1 - base)), b = 0;
  for (int iteration = 0; iteration < 50; ++iteration) {
    // Gradient and Hessian of the log-likelihood in (a, b), with a tiny ridge for separable data.
    double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = scores[i];
      const double p = 1.0 / (1.0 + std::exp(-(a + b * x)));
      const double r = (correct[i] ? 1.0 : 0.0) - p;
      const double w = p * (1 - p);
      ga += r;
      gb += r * x;
      haa += w;
      hab += w * x;
      hbb += w * x * x;
    }
    const double det = haa * hbb - hab * hab;
    if (det <= 0) break;
    const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (std::abs(da) + std::abs(db) < 1e-10) break;
  }
  fit.intercept = a;
  fit.slope = b;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return scores[x] < scores[y]; });
  const std::size_t k = static_cast<std::size_t>(std::max(1, bins));
  for (std::size_t bin = 0; bin < k; ++bin) {
    const std::size_t lo = bin * n / k, hi = (bin + 1) * n / k;
    if (lo >= hi) continue;
    QualityFit::Bin out;
    out.score_lo = scores[order[lo]];
    out.score_hi = scores[order[hi - 1]];
    out.rows = hi - lo;
    for (std::size_t j = lo; j < hi; ++j) {
      out.observed += correct[order[j]] ? 1 : 0;
      out.fitted += 1.0 / (1.0 + std::exp(-(a + b * scores[order[j]])));
    }
    out.observed /= out.rows;
    out.fitted /= out.rows;
    fit.bins.push_back(out);
  }
  return fit;
}

double ThresholdForShare(std::vector<double> scores, double strong_share) {
  if (scores.empty()) return 1;
  std::sort(scores.begin(), scores.end(), std::greater<>());
  strong_share = std::clamp(strong_share, 0.0, 1.0);
  const auto k = static_cast<std::size_t>(strong_share * scores.size() + 0.5);
  if (k == 0) return std::nextafter(scores.front(), 2.0);
  return scores[k - 1];
}

}  // namespace partita::scorer
