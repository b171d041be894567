// Distributions that fleet files use for request sizes, difficulty, RTTs and battery levels:
//   {fixed: 20}  {uniform: [0.1, 0.4]}  {normal: {mean: 50, sd: 10, min: 0, max: 100}}
//   {lognormal: {median: 24, sigma: 0.5, max: 4000}}  {exponential: {mean: 30}}
// Parsed with located errors (yaml_reader), sampled from an Rng. Immutable after parsing.
#pragma once

#include <optional>
#include <string>

#include "common/diagnostic.h"
#include "common/yaml_tree.h"
#include "sim/random.h"

namespace partita::sim {

class Distribution {
 public:
  enum class Kind { kFixed, kUniform, kNormal, kLogNormal, kExponential };

  static Distribution Fixed(double v);
  static Distribution Uniform(double lo, double hi);
  static Distribution LogNormal(double median, double sigma, double max);

  // Parses one of the forms above; `field` names it in errors. Values are checked against
  // [lo, hi] (e.g. difficulty 0..1).
  static std::optional<Distribution> Parse(const yaml::Node& node, Diagnostics& d,
                                           const std::string& field, double lo, double hi);

  double Sample(Rng& rng) const;
  double Mean() const;  // analytic mean (before clamping), for docs and sanity checks
  std::string Describe() const;

 private:
  Kind kind_ = Kind::kFixed;
  double a_ = 0;  // fixed value | lo | mean | median | mean
  double b_ = 0;  // hi | sd | sigma
  double min_ = -1e300;
  double max_ = 1e300;
};

}  // namespace partita::sim
