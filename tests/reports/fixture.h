// Run databases for report tests and benchmarks, written through the real request-log API
// (storage::CreateRequestLogSchema, InsertRun, InsertRequest, InsertBatterySample,
// InsertRunMetric, and InsertDecision for in-flight router rows).
//
// Exact fixtures: a handful of rows per run whose figures can be derived by hand (the tests
// spell the arithmetic out). Scale fixtures: deterministic, realistic-looking city runs of any
// size (diurnal load, per-tier latency, cost and energy distributions, battery walks) for the
// browser test, visual checks and the 5,000,000-request benchmark.
// Single-threaded; each call opens and closes its own connection.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/request_log.h"

namespace partita::reports::fixture {

struct Row {
  std::string decided_tier;  // "" = the final tier (or none)
  std::string final_tier;    // "" when every tier failed
  bool outcome = true;       // false: a router decision still in flight (outcome NULL)
  bool success = true;
  bool truncated = false;
  double total_ms = 0;
  double ttft_ms = 0;
  double cost_usd = 0;
  double energy_j = 0;
  double quality = 0;
  int label_correct = -1;   // by a labeled prompt's label; -1: not scored
  std::string label_model;  // "weak" or "strong" when scored
  std::string fallback_cause;
  int attempts = 0;  // 0: 2 when there is a fallback_cause, else 1
  std::string guards;
  bool deadline_missed = false;
  int hour = 0;
};

struct Run {
  storage::RunInfo info;
  std::vector<Row> rows;
  std::vector<double> battery;  // samples (percent), one device
  std::vector<std::pair<std::string, double>> metrics;
};

// balanced: 10 requests over hours 0..9. 1-5 device (100..500 ms, 36 J, quality 0.6),
// 6-7 phone (600, 700 ms, 72 J, 0.75), 8-9 cloud (800, 900 ms, $0.002, 0.9), 10 unanswered
// (no_first_token, deadline missed). Request 7 fell back after "refused"; 1 and 2 hit the guard
// "private-stays-home". ttft = total / 4. Metrics: device_days 2, battery_empty_events 3.
// Battery samples 10, 30, 50, 100.
Run Balanced();
// battery-saver: 10 requests, all answered: 1-2 device, 3-10 cloud; total 200*i ms, cloud
// $0.003 each, device 36 J; quality device 0.6, cloud 0.9. device_days 2, no empty events.
// Battery samples 60, 80.
Run BatterySaver();
// slow-and-dear: like balanced but every latency doubled and every cost tripled
// (balanced dominates it).
Run SlowAndDear();
// A router decision log: 6 decisions, 2 still in flight (outcome NULL); no battery, no metrics.
Run RouterLog();

// Writes the runs (assigning run ids) into a new database at `path`.
Status WriteRuns(const std::string& path, std::vector<Run> runs);

struct ScaleOptions {
  std::uint64_t requests_per_run = 20'000;
  std::uint32_t devices = 2'000;
  std::uint64_t seed = 7;
  double hours = 24;
  bool battery = true;
  // Shipped-looking policy names; up to four (balanced, battery-saver, always-cloud,
  // latency-first), each with its own tier mix and behaviour.
  int policies = 3;
};

// A simulator-like run database: `policies` runs of `requests_per_run` requests each.
Status WriteScaleFixture(const std::string& path, const ScaleOptions& options);

}  // namespace partita::reports::fixture
