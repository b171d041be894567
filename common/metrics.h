// Counters, gauges and histograms exposed in the Prometheus text format (version 0.0.4).
//
// Hot paths touch only atomics: a labelled family hands out a stable pointer to its series once
// (Get / Labels), and callers keep it. Render() walks everything under the registry's mutex.
// Thread-safe: every method may be called from any thread.
#pragma once

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
  // A gauge computed when rendering (e.g. connected devices).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> fn);
  // A counter kept elsewhere, read when rendering; `fn` must never decrease.
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::function<double()> fn);

  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::string type;                                          // counter | gauge | histogram
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  Family& GetFamily(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
};

// Escapes a label value for the text format.
std::string EscapeLabelValue(const std::string& v);

}  // namespace partita
