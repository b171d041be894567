// The report model: every figure a tradeoff report shows, computed from run databases (simulator
// runs and router decision logs share the request-log schema, docs/request-log.md), kept apart
// from rendering (reports/render.h turns a Report into HTML, Markdown, CSV or JSON).
//
// BuildReport streams the `requests` table once per input file (only the columns it needs,
// split over a few threads by rowid range), then reads `battery` and `run_metrics`.
// A figure that the inputs do not record (router logs have no battery samples or device-days)
// is std::nullopt, shown as "not recorded", never as zero. docs/reports.md defines each figure.
// Pure values; BuildReport may be called from any thread (it opens its own connections).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/vocabulary.h"
#include "storage/request_log.h"

namespace partita::reports {

// Where answers came from: the three tiers, then "unanswered" (every tier failed).
inline constexpr std::size_t kUnanswered = kTierCount;
inline constexpr std::size_t kOutcomeSlots = kTierCount + 1;
inline constexpr std::size_t kBatteryBuckets = 20;  // 5% wide: [0,5) ... [95,100]

// Nearest-rank percentiles of a sample (the value at rank ceil(p/100 * n) of the sorted sample).
struct Percentiles {
  std::uint64_t count = 0;  // samples; the percentiles are meaningful only when count > 0
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
};

// One point of an empirical CDF: `fraction` of the samples are <= `ms`.
struct CdfPoint {
  double ms = 0;
  double fraction = 0;
};

// From the `battery` table (simulation runs).
struct BatteryFigures {
  std::uint64_t samples = 0;  // 0: not recorded
  std::array<std::uint64_t, kBatteryBuckets> buckets{};
  std::uint64_t empty = 0;     // samples at 0%
  std::uint64_t below_20 = 0;  // samples under 20%
  std::uint64_t charging = 0;
  double mean_pct = 0;
};

struct RunFigures {
  std::string name;  // the run's label, made unique in the report ("balanced (b.db)")
  std::string file;  // the input file it came from
  storage::RunInfo info;

  std::uint64_t requests = 0;   // rows (decisions)
  std::uint64_t completed = 0;  // rows with an outcome; the rest are in flight
  std::uint64_t succeeded = 0;
  std::uint64_t truncated = 0;
  std::uint64_t deadline_missed = 0;
  std::uint64_t guard_hits = 0;  // decisions where at least one guard applied
  // Fell back: completed rows tried on more than one tier (attempts > 1), as `partita sim`
  // counts them. A single failed attempt with nothing to fall back to is not a fallback: it is
  // in failed_single_attempt.
  std::uint64_t fell_back = 0;
  std::uint64_t failed_single_attempt = 0;  // completed, no success, at most one attempt
  std::uint64_t decided_offline = 0;
  std::array<std::uint64_t, kTierCount> decided{};      // every row, by decided tier
  std::array<std::uint64_t, kOutcomeSlots> answered{};  // completed rows, by final tier
  // Rows that fell back, by the cause of their first failure (fallback_cause), most frequent
  // first (ties by name).
  std::vector<std::pair<std::string, std::uint64_t>> fallback_causes;
  std::array<std::array<std::uint64_t, kOutcomeSlots>, 24> by_hour{};  // completed rows

  Percentiles latency_ms;                               // total_ms of successful requests
  std::array<Percentiles, kTierCount> tier_latency_ms;  // by final tier
  Percentiles ttft_ms;                // time to first token of successful requests
  std::vector<CdfPoint> latency_cdf;  // of latency_ms, from the fastest to the slowest answer

  double cost_usd = 0;     // sum over completed rows
  double energy_j = 0;     // household device energy, sum over completed rows
  double quality_sum = 0;  // over answered rows (a final tier)
  // Answers scored by their labeled prompt's label (simulations on labeled prompts), and how
  // many of them were right.
  std::uint64_t labeled_answers = 0, labeled_correct = 0, labeled_by_strong = 0;
  BatteryFigures battery;
  std::vector<std::pair<std::string, double>> metrics;  // run_metrics as stored

  // Derived figures; std::nullopt when the inputs do not record them.
  std::optional<double> success_rate;              // succeeded / completed
  std::optional<double> cost_per_1k_usd;           // cost_usd / completed * 1000
  std::optional<double> device_days;               // run_metrics device_days
  std::optional<double> cost_per_device_day_usd;   // cost_usd / device_days
  std::optional<double> energy_wh_per_device_day;  // energy_j / 3600 / device_days
  std::optional<double> battery_empty_events;      // run_metrics battery_empty_events
  // (idle_energy_wh + request_energy_wh) / device_days: everything the devices drew.
  std::optional<double> drain_wh_per_device_day;
  std::optional<double> dropped_battery_empty;  // run_metrics dropped_offline
  std::optional<double> mean_quality;           // mean quality of answered requests
  std::optional<double> labeled_accuracy;       // labeled_correct / labeled_answers
  std::optional<double> labeled_strong_share;   // labeled_by_strong / labeled_answers
  bool on_frontier = false;                     // cost vs p95 Pareto frontier

  std::uint64_t in_flight() const { return requests - completed; }
  // Completed rows with no full answer: the single or last attempt failed, no tier was left.
  std::uint64_t failed() const { return completed - succeeded; }
  std::optional<double> Metric(std::string_view name) const;
};

struct Finding {
  enum class Kind {
    kSummary,    // who wins what
    kFrontier,   // the cost / p95 Pareto frontier
    kDominance,  // A is at least as good as B on every measure and better on some
    kTradeoff,   // A gains on some measures and pays on others
    kAttention,  // something an operator should look at (battery-empty, deadline misses)
    kData,       // about the inputs (in-flight rows, figures not recorded)
  };
  Kind kind = Kind::kSummary;
  std::string text;
};
std::string_view KindName(Finding::Kind kind);

struct InputFile {
  std::string path;
  std::size_t runs = 0;
  std::uint64_t requests = 0;
};

struct Report {
  std::string partita_version;  // of the partita that built the report
  std::string command;          // the command line that built it (for the inputs section)
  std::vector<InputFile> inputs;
  std::vector<RunFigures> runs;       // in input order, then run_id order
  std::vector<std::size_t> frontier;  // indexes into runs on the frontier, cheapest first
  std::vector<Finding> findings;
  std::vector<std::string> rerun;  // commands that reproduce the simulation runs
};

struct BuildOptions {
  std::string partita_version;
  std::string command;
  int threads = 0;  // scan threads per file; 0: up to 4, by hardware concurrency and size
};

// Reads every run of every file, computes the figures, the frontier and the findings.
// Errors name the file: missing, not SQLite, not a Partita run database, newer schema, no runs.
Result<Report> BuildReport(const std::vector<std::string>& paths, const BuildOptions& options);

// The runs of one file with their figures (no frontier, no findings); used by BuildReport.
Result<std::vector<RunFigures>> LoadRuns(const std::string& path, int threads = 0);

// Fills the derived figures of `run` from its sums and metrics.
void Derive(RunFigures& run);

// Indexes of the points not dominated on (cost, latency), both lower-is-better: a point is
// dominated when another is <= on both and < on one. Sorted by cost, then latency.
std::vector<std::size_t> ParetoFrontier(const std::vector<std::pair<double, double>>& points);

// Plain-language findings over runs whose figures are derived and whose on_frontier is set.
// The first run is the baseline that tradeoffs are stated against.
std::vector<Finding> WriteFindings(const std::vector<RunFigures>& runs,
                                   const std::vector<std::size_t>& frontier);

}  // namespace partita::reports
