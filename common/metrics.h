// The one metrics registry: counters, gauges and histograms in the Prometheus text format
// (version 0.0.4), for the router, the gateway and the agent.
//
// Hot paths touch only atomics: a family hands out a stable pointer to each series once, and
// callers keep it. Families whose label values are an enum's names are declared once with
// CounterByEnum, sized from the enum's kCount at compile time, so a new enumerator cannot write
// past an array. Render() walks everything under the registry's mutex.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace partita {

class Counter {
 public:
  void Add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (plus +Inf).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  // An estimate of the q-quantile (0..1) by linear interpolation inside the bucket.
  double Quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bounds from `start` multiplying by `factor`, `count` of them (1, 2, 4, ...).
std::vector<double> ExponentialBounds(double start, double factor, int count);

class MetricsRegistry {
 public:
  // A metric family; `labels` names its label keys (empty for a single series).
  Counter* AddCounter(const std::string& name, const std::string& help);
  Gauge* AddGauge(const std::string& name, const std::string& help);
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds);
  // Labelled series: created on first use, then the same pointer for the same values.
  Counter* LabeledCounter(const std::string& name, const std::string& help,
                          const std::vector<std::pair<std::string, std::string>>& labels);
  Gauge* LabeledGauge(const std::string& name, const std::string& help,
                      const std::vector<std::pair<std::string, std::string>>& labels);
  Histogram* LabeledHistogram(const std::string& name, const std::string& help,
                              const std::vector<std::pair<std::string, std::string>>& labels,
                              const std::vector<double>& bounds);
  // A gauge computed when rendering (e.g. connected devices).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> fn,
                        const std::vector<std::pair<std::string, std::string>>& labels = {});
  // A counter kept elsewhere, read when rendering; `fn` must never decrease.
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::function<double()> fn,
                          const std::vector<std::pair<std::string, std::string>>& labels = {});

  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::string type;                                          // counter | gauge | histogram
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::map<std::string, std::function<double()>> callbacks;
  };
  Family& GetFamily(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
};

// Escapes a label value for the text format.
std::string EscapeLabelValue(const std::string& v);

// The counters of one family whose `label` takes an enum's names, one series per enumerator
// from `first` (e.g. to leave out a "none"), created together with the same `base` labels:
//   CounterByEnum<Outcome> outcomes(registry, "x_requests_total", "...", "outcome",
//                                   OutcomeName, {{"model", "m"}});
//   outcomes[Outcome::kOk].Add();
// The enum must end with kCount, which sizes the array at compile time.
template <typename Enum>
class CounterByEnum {
 public:
  static constexpr std::size_t kSize = static_cast<std::size_t>(Enum::kCount);

  CounterByEnum() = default;
  CounterByEnum(MetricsRegistry& registry, const std::string& name, const std::string& help,
                const std::string& label, const char* (*label_of)(Enum),
                std::vector<std::pair<std::string, std::string>> base = {}, Enum first = Enum{}) {
    for (std::size_t i = static_cast<std::size_t>(first); i < kSize; ++i) {
      std::vector<std::pair<std::string, std::string>> labels = base;
      labels.emplace_back(label, label_of(static_cast<Enum>(i)));
      counters_[i] = registry.LabeledCounter(name, help, labels);
    }
  }
  // The series of `e` (one left out by `first` counts nowhere).
  void Add(Enum e, std::uint64_t n = 1) {
    if (Counter* c = counters_[static_cast<std::size_t>(e)]) c->Add(n);
  }
  std::uint64_t value(Enum e) const {
    const Counter* c = counters_[static_cast<std::size_t>(e)];
    return c != nullptr ? c->value() : 0;
  }

 private:
  std::array<Counter*, kSize> counters_{};
};

}  // namespace partita
