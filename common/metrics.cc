#include "common/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace partita {

namespace {
std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string LabelKey(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  }
  return out;
}
}  // namespace

void Gauge::Add(double d) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

double Histogram::Quantile(double q) const {
  const std::uint64_t n = count();
  if (n == 0) return 0;
  const double target = q * static_cast<double>(n);
  double seen = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    const double in_bucket = static_cast<double>(bucket(i));
    if (seen + in_bucket >= target && in_bucket > 0) {
      const double lo = i == 0 ? 0 : bounds_[i - 1];
      const double hi = i < bounds_.size() ? bounds_[i] : lo;
      return lo + (hi - lo) * (target - seen) / in_bucket;
    }
    seen += in_bucket;
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> ExponentialBounds(double start, double factor, int count) {
  std::vector<double> b;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) b.push_back(v);
  return b;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

MetricsRegistry::Family& MetricsRegistry::GetFamily(const std::string& name,
                                                    const std::string& help, const char* type) {
  Family& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  return f;
}

Counter* MetricsRegistry::AddCounter(const std::string& name, const std::string& help) {
  return LabeledCounter(name, help, {});
}

Gauge* MetricsRegistry::AddGauge(const std::string& name, const std::string& help) {
  return LabeledGauge(name, help, {});
}

Histogram* MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds) {
  return LabeledHistogram(name, help, {}, bounds);
}

Histogram* MetricsRegistry::LabeledHistogram(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::string, std::string>>& labels,
    const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = GetFamily(name, help, "histogram");
  auto& slot = f.histograms[LabelKey(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

Counter* MetricsRegistry::LabeledCounter(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = GetFamily(name, help, "counter");
  auto& slot = f.counters[LabelKey(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::LabeledGauge(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = GetFamily(name, help, "gauge");
  auto& slot = f.gauges[LabelKey(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

void MetricsRegistry::AddCallbackGauge(
    const std::string& name, const std::string& help, std::function<double()> fn,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = GetFamily(name, help, "gauge");
  f.callbacks[LabelKey(labels)] = std::move(fn);
}

void MetricsRegistry::AddCallbackCounter(
    const std::string& name, const std::string& help, std::function<double()> fn,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = GetFamily(name, help, "counter");
  f.callbacks[LabelKey(labels)] = std::move(fn);
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& entry : families_) {
    const std::string& name = entry.first;
    const Family& f = entry.second;
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    auto series = [&](const std::string& key) {
      return key.empty() ? name : name + "{" + key + "}";
    };
    for (const auto& [key, c] : f.counters)
      out += series(key) + " " + std::to_string(c->value()) + "\n";
    for (const auto& [key, g] : f.gauges) out += series(key) + " " + FormatValue(g->value()) + "\n";
    for (const auto& [key, fn] : f.callbacks) out += series(key) + " " + FormatValue(fn()) + "\n";
    for (const auto& [key, h] : f.histograms) {
      const std::string labels = key.empty() ? "" : key + ",";
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= h->bounds().size(); ++i) {
        cumulative += h->bucket(i);
        const std::string le = i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf";
        out +=
            name + "_bucket{" + labels + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
      }
      const std::string suffix = key.empty() ? "" : "{" + key + "}";
      out += name + "_sum" + suffix + " " + FormatValue(h->sum()) + "\n";
      out += name + "_count" + suffix + " " + std::to_string(h->count()) + "\n";
    }
  }
  return out;
}

}  // namespace partita
