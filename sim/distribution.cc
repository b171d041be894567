#include "sim/distribution.h"

#include <algorithm>
#include <cmath>

#include "common/yaml_reader.h"

namespace partita::sim {

Distribution Distribution::Fixed(double v) {
  Distribution d;
  d.kind_ = Kind::kFixed;
  d.a_ = v;
  return d;
}

Distribution Distribution::Uniform(double lo, double hi) {
  Distribution d;
  d.kind_ = Kind::kUniform;
  d.a_ = lo;
  d.b_ = hi;
  return d;
}

Distribution Distribution::LogNormal(double median, double sigma, double max) {
  Distribution d;
  d.kind_ = Kind::kLogNormal;
  d.a_ = median;
  d.b_ = sigma;
  d.max_ = max;
  return d;
}

std::optional<Distribution> Distribution::Parse(const yaml::Node& node, Diagnostics& d,
                                                const std::string& field, double lo, double hi) {
  if (node.IsScalar()) {
    std::optional<double> v = yaml::ReadDoubleIn(node, d, field, lo, hi);
    if (!v) return std::nullopt;
    return Fixed(*v);
  }
  const std::string what = "the distribution of '" + field + "'";
  if (!node.IsMap() || node.entries.size() != 1) {
    d.Error(node.location,
            "expected a number or one of {fixed: V}, {uniform: [LO, HI]}, "
            "{normal: {mean, sd}}, {lognormal: {median, sigma}}, "
            "{exponential: {mean}} for '" +
                field + "'");
    return std::nullopt;
  }
  yaml::MapReader form(node, d, what, {"fixed", "uniform", "normal", "lognormal", "exponential"});
  const std::size_t errors_before = d.error_count();
  Distribution out;
  if (const yaml::Node* v = form.Get("fixed")) {
    std::optional<double> x = yaml::ReadDoubleIn(*v, d, field, lo, hi);
    if (!x) return std::nullopt;
    return Fixed(*x);
  }
  if (const yaml::Node* v = form.Get("uniform")) {
    if (!v->IsSequence() || v->items.size() != 2) {
      d.Error(v->location, "uniform takes [LO, HI] for '" + field + "'");
      return std::nullopt;
    }
    auto a = yaml::ReadDoubleIn(v->items[0], d, field, lo, hi);
    auto b = yaml::ReadDoubleIn(v->items[1], d, field, lo, hi);
    if (!a || !b) return std::nullopt;
    if (*a > *b) {
      d.Error(v->location, "uniform range for '" + field + "' has LO > HI");
      return std::nullopt;
    }
    return Uniform(*a, *b);
  }
  if (const yaml::Node* normal = form.Get("normal")) {
    yaml::MapReader r(*normal, d, "normal for '" + field + "'", {"mean", "sd", "min", "max"});
    out.kind_ = Kind::kNormal;
    out.a_ = r.RequireDoubleIn("mean", lo, hi).value_or(0);
    out.b_ = r.RequireDoubleIn("sd", 0, 1e12).value_or(0);
    out.min_ = r.DoubleIn("min", lo, lo, hi);
    out.max_ = r.DoubleIn("max", hi, lo, hi);
  } else if (const yaml::Node* lognormal = form.Get("lognormal")) {
    yaml::MapReader r(*lognormal, d, "lognormal for '" + field + "'", {"median", "sigma", "max"});
    out.kind_ = Kind::kLogNormal;
    out.a_ = r.RequireDoubleIn("median", std::max(lo, 1e-9), hi).value_or(1);
    out.b_ = r.RequireDoubleIn("sigma", 0, 10).value_or(0);
    out.min_ = lo;
    out.max_ = r.DoubleIn("max", hi, lo, hi);
  } else if (const yaml::Node* exponential = form.Get("exponential")) {
    yaml::MapReader r(*exponential, d, "exponential for '" + field + "'", {"mean", "max"});
    out.kind_ = Kind::kExponential;
    out.a_ = r.RequireDoubleIn("mean", 1e-9, hi).value_or(1);
    out.min_ = lo;
    out.max_ = r.DoubleIn("max", hi, lo, hi);
  } else {
    return std::nullopt;  // MapReader reported the unknown form
  }
  if (d.error_count() != errors_before) return std::nullopt;
  out.min_ = std::max(out.min_, lo);
  out.max_ = std::min(out.max_, hi);
  return out;
}

double Distribution::Sample(Rng& rng) const {
  double v = 0;
  switch (kind_) {
    case Kind::kFixed: return a_;
    case Kind::kUniform: return a_ + (b_ - a_) * rng.Uniform();
    case Kind::kNormal: v = a_ + b_ * rng.Normal(); break;
    case Kind::kLogNormal: v = a_ * std::exp(b_ * rng.Normal()); break;
    case Kind::kExponential: v = rng.Exponential(1.0 / a_); break;
  }
  return std::clamp(v, min_, max_);
}

double Distribution::Mean() const {
  switch (kind_) {
    case Kind::kFixed: return a_;
    case Kind::kUniform: return (a_ + b_) / 2;
    case Kind::kNormal: return a_;
    case Kind::kLogNormal: return a_ * std::exp(b_ * b_ / 2);
    case Kind::kExponential: return a_;
  }
  return a_;
}

std::string Distribution::Describe() const {
  auto n = [](double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return std::string(buf);
  };
  switch (kind_) {
    case Kind::kFixed: return n(a_);
    case Kind::kUniform: return "uniform(" + n(a_) + ", " + n(b_) + ")";
    case Kind::kNormal: return "normal(mean " + n(a_) + ", sd " + n(b_) + ")";
    case Kind::kLogNormal: return "lognormal(median " + n(a_) + ", sigma " + n(b_) + ")";
    case Kind::kExponential: return "exponential(mean " + n(a_) + ")";
  }
  return "";
}

}  // namespace partita::sim
