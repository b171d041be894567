#include "reports/summary_table.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "reports/format.h"

namespace partita::reports {

namespace {

enum class Best { kNone, kLower, kHigher };

class RowBuilder {
 public:
  explicit RowBuilder(const Report& report) : report_(report) {}

  void Group(std::string name) { group_ = std::move(name); }

  // A row of numbers: formatted by `format`, "not recorded" when absent, best by `best`.
  void Numbers(std::string label, std::string note,
               const std::function<std::optional<double>(const RunFigures&)>& get,
               const std::function<std::string(double)>& format, Best best) {
    SummaryRow row{group_, std::move(label), std::move(note), {}, {}};
    std::vector<std::optional<double>> values;
    for (const RunFigures& r : report_.runs) {
      values.push_back(get(r));
      row.cells.push_back(values.back() ? format(*values.back()) : std::string(kNotRecorded));
    }
    row.best.assign(values.size(), false);
    if (best == Best::kNone) {
      rows_.push_back(std::move(row));
      return;
    }
    // The best shown value; a cell is starred only when it shows that value and another run
    // shows a worse one (a row where every run shows the same value has no star).
    std::optional<double> best_value;
    for (const auto& v : values) {
      if (v && (!best_value || (best == Best::kLower ? *v < *best_value : *v > *best_value))) {
        best_value = v;
      }
    }
    if (best_value) {
      const std::string shown = format(*best_value);
      bool someone_worse = false;
      for (const auto& v : values) someone_worse |= v && format(*v) != shown;
      for (std::size_t i = 0; i < values.size() && someone_worse; ++i) {
        row.best[i] = values[i] && format(*values[i]) == shown;
      }
    }
    rows_.push_back(std::move(row));
  }

  void Text(std::string label, std::string note,
            const std::function<std::string(const RunFigures&)>& get) {
    SummaryRow row{group_, std::move(label), std::move(note), {}, {}};
    for (const RunFigures& r : report_.runs) row.cells.push_back(get(r));
    row.best.assign(row.cells.size(), false);
    rows_.push_back(std::move(row));
  }

  std::vector<SummaryRow> Take() { return std::move(rows_); }

 private:
  const Report& report_;
  std::string group_;
  std::vector<SummaryRow> rows_;
};

std::optional<double> Share(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

std::string Triple(const Percentiles& p) {
  if (p.count == 0) return "\u2013";
  return FormatMs(p.p50) + " / " + FormatMs(p.p95) + " / " + FormatMs(p.p99);
}

// A percentile of one of a run's distributions, absent when it has no samples.
template <Percentiles RunFigures::*kDistribution, double Percentiles::*kStat>
std::optional<double> PercentileOf(const RunFigures& r) {
  const Percentiles& p = r.*kDistribution;
  if (p.count == 0) return std::nullopt;
  return p.*kStat;
}

}  // namespace

std::vector<SummaryRow> SummaryRows(const Report& report) {
  RowBuilder b(report);
  bool any_in_flight = false, any_offline = false, any_dropped = false, any_drain = false;
  for (const RunFigures& r : report.runs) {
    any_in_flight |= r.in_flight() > 0;
    any_dropped |= r.dropped_battery_empty.value_or(0) > 0;
    any_drain |= r.drain_wh_per_device_day.has_value();
    any_offline |= r.decided_offline > 0;
  }
  const auto fmt_count = [](double v) { return FormatCount(static_cast<std::uint64_t>(v)); };

  b.Group("Requests");
  b.Numbers(
      "Requests", "Decisions in the log",
      [](const RunFigures& r) { return static_cast<double>(r.requests); }, fmt_count, Best::kNone);
  if (any_dropped) {
    b.Numbers(
        "Dropped: battery empty",
        "Requests that arrived while the device's battery was empty: never decided, so not in "
        "Requests (run_metrics dropped_offline)",
        [](const RunFigures& r) { return r.dropped_battery_empty; }, fmt_count, Best::kNone);
  }
  if (any_in_flight) {
    b.Numbers(
        "In flight", "Decisions with no outcome yet; left out of every figure below",
        [](const RunFigures& r) { return static_cast<double>(r.in_flight()); }, fmt_count,
        Best::kNone);
  }
  for (std::size_t t = 0; t < kTierCount; ++t) {
    b.Numbers(
        "Answered on " + std::string(kTierNames[t]),
        "Share of completed requests whose answer came from this tier",
        [t](const RunFigures& r) { return Share(r.answered[t], r.completed); }, FormatShareFixed,
        Best::kNone);
  }
  b.Numbers(
      "Unanswered", "Share of completed requests that no tier answered",
      [](const RunFigures& r) { return Share(r.answered[kUnanswered], r.completed); },
      FormatShareFixed, Best::kLower);

  b.Group("Latency of answers");
  b.Numbers("p50", "Median time from the request to the last token, successful answers",
            PercentileOf<&RunFigures::latency_ms, &Percentiles::p50>, FormatMs, Best::kLower);
  b.Numbers("p95", "95th percentile (nearest rank) of the total latency of successful answers",
            PercentileOf<&RunFigures::latency_ms, &Percentiles::p95>, FormatMs, Best::kLower);
  b.Numbers("p99", "99th percentile of the total latency of successful answers",
            PercentileOf<&RunFigures::latency_ms, &Percentiles::p99>, FormatMs, Best::kLower);
  b.Numbers("First token p50", "Median time to the first token of successful answers",
            PercentileOf<&RunFigures::ttft_ms, &Percentiles::p50>, FormatMs, Best::kLower);
  b.Numbers("First token p95", "95th percentile of the time to the first token",
            PercentileOf<&RunFigures::ttft_ms, &Percentiles::p95>, FormatMs, Best::kLower);
  for (std::size_t t = 0; t < kTierCount; ++t) {
    b.Text(std::string(kTierNames[t]) + " p50 / p95 / p99",
           "Latency of successful answers from the " + std::string(kTierNames[t]) + " tier",
           [t](const RunFigures& r) { return Triple(r.tier_latency_ms[t]); });
  }

  b.Group("Cost");
  b.Numbers(
      "Per 1,000 requests", "Cloud spend per 1,000 completed requests",
      [](const RunFigures& r) { return r.cost_per_1k_usd; }, FormatUsd, Best::kLower);
  b.Numbers(
      "Per device-day", "Cloud spend per device per simulated day",
      [](const RunFigures& r) { return r.cost_per_device_day_usd; }, FormatUsd, Best::kLower);
  b.Numbers(
      "Total", "Cloud spend over the whole run",
      [](const RunFigures& r) -> std::optional<double> {
        if (r.completed == 0) return std::nullopt;
        return r.cost_usd;
      },
      FormatUsd, Best::kNone);

  b.Group("Energy and battery");
  b.Numbers(
      "Request energy per device-day",
      "Energy household devices spent on requests, per device per day",
      [](const RunFigures& r) { return r.energy_wh_per_device_day; }, FormatWh, Best::kLower);
  if (any_drain) {
    b.Numbers(
        "Total drain per device-day",
        "Everything the devices drew (idle and requests, run_metrics idle_energy_wh + "
        "request_energy_wh), per device per day",
        [](const RunFigures& r) { return r.drain_wh_per_device_day; }, FormatWh, Best::kLower);
  }
  b.Numbers(
      "Battery-empty events", "Times a battery-powered device ran flat",
      [](const RunFigures& r) { return r.battery_empty_events; }, fmt_count, Best::kLower);
  b.Numbers(
      "Samples under 20%", "Share of battery samples below 20%",
      [](const RunFigures& r) { return Share(r.battery.below_20, r.battery.samples); },
      FormatShareFixed, Best::kLower);
  b.Numbers(
      "Mean battery level", "Mean of the battery samples",
      [](const RunFigures& r) -> std::optional<double> {
        if (r.battery.samples == 0) return std::nullopt;
        return r.battery.mean_pct / 100.0;
      },
      FormatShareFixed, Best::kHigher);

  b.Group("Quality and reliability");
  b.Numbers(
      "Mean quality", "Mean predicted quality (0..1) of the models that answered",
      [](const RunFigures& r) { return r.mean_quality; }, FormatQuality, Best::kHigher);
  const bool labeled = std::any_of(report.runs.begin(), report.runs.end(),
                                   [](const RunFigures& r) { return r.labeled_answers > 0; });
  if (labeled) {
    b.Numbers(
        "Accuracy on labeled prompts",
        "Measured: share of the answers scored by their prompt's label (a fleet's labeled prompts, "
        "answered by a model the fleet maps to a label) that were right",
        [](const RunFigures& r) { return r.labeled_accuracy; }, FormatShareFixed, Best::kHigher);
    b.Numbers(
        "Scored answers from the large model",
        "Share of those answers given by the fleet's strong_model (the rest by its weak_model)",
        [](const RunFigures& r) { return r.labeled_strong_share; }, FormatShareFixed, Best::kNone);
    b.Numbers(
        "Answers scored by label", "How many answers the accuracy above rests on",
        [](const RunFigures& r) -> std::optional<double> {
          return static_cast<double>(r.labeled_answers);
        },
        [](double n) { return FormatCount(static_cast<std::uint64_t>(n)); }, Best::kNone);
  }
  b.Numbers(
      "Success rate", "Completed requests answered in full",
      [](const RunFigures& r) { return r.success_rate; }, FormatShareFixed, Best::kHigher);
  b.Numbers(
      "Truncated", "Answers cut off after the first tokens",
      [](const RunFigures& r) { return Share(r.truncated, r.completed); }, FormatShareFixed,
      Best::kLower);
  b.Numbers(
      "Deadline misses", "Requests that passed their deadline",
      [](const RunFigures& r) { return Share(r.deadline_missed, r.completed); }, FormatShareFixed,
      Best::kLower);
  b.Numbers(
      "Fell back", "Completed requests tried on more than one tier (attempts > 1)",
      [](const RunFigures& r) { return Share(r.fell_back, r.completed); }, FormatShareFixed,
      Best::kLower);
  std::vector<std::string> causes;
  for (const RunFigures& r : report.runs) {
    for (const auto& [cause, n] : r.fallback_causes) {
      if (std::find(causes.begin(), causes.end(), cause) == causes.end()) causes.push_back(cause);
    }
  }
  std::sort(causes.begin(), causes.end());
  for (const std::string& cause : causes) {
    b.Numbers(
        "\u2003after " + CauseWords(cause),
        "Completed requests that fell back after their first attempt ended with " +
            CauseWords(cause),
        [cause](const RunFigures& r) -> std::optional<double> {
          std::uint64_t n = 0;
          for (const auto& [c, count] : r.fallback_causes) {
            if (c == cause) n = count;
          }
          return Share(n, r.completed);
        },
        FormatShareFixed, Best::kNone);
  }
  b.Numbers(
      "Failed, no tier left",
      "Completed requests with no full answer: the single or last attempt failed and no tier "
      "was left to try",
      [](const RunFigures& r) { return Share(r.failed(), r.completed); }, FormatShareFixed,
      Best::kLower);
  b.Numbers(
      "\u2003on the only attempt",
      "Failed requests that had a single attempt: nothing was fallen back to",
      [](const RunFigures& r) { return Share(r.failed_single_attempt, r.completed); },
      FormatShareFixed, Best::kNone);
  b.Numbers(
      "Guard hits", "Decisions where a guard removed a tier",
      [](const RunFigures& r) { return Share(r.guard_hits, r.requests); }, FormatShareFixed,
      Best::kNone);
  if (any_offline) {
    b.Numbers(
        "Decided offline", "Decisions the agent made with its cached policy",
        [](const RunFigures& r) { return Share(r.decided_offline, r.requests); }, FormatShareFixed,
        Best::kNone);
  }
  b.Text("On the Pareto frontier", "Not both dearer and slower at p95 than another policy",
         [](const RunFigures& r) -> std::string {
           if (r.latency_ms.count == 0) return "\u2013";
           return r.on_frontier ? "yes" : "no";
         });
  return b.Take();
}

std::string RunsAndRequests(const Report& report, const InputFile& file) {
  std::vector<std::uint64_t> counts;
  for (const RunFigures& r : report.runs) {
    if (r.file == file.path) counts.push_back(r.requests);
  }
  if (counts.empty()) counts.push_back(file.requests);
  return std::to_string(file.runs) + (file.runs == 1 ? " run, " : " runs, ") +
         RequestsPerRun(counts);
}

}  // namespace partita::reports
