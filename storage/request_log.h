// The request log: one schema for decisions and outcomes, written by the router (production)
// and by the simulator, read by `partita report` and `partita sim --replay`.
//
// Tables (docs/request-log.md documents every column with its unit):
//   runs      one row per router process start or per simulated policy
//   requests  one row per request: the decision columns, then the outcome columns (NULL until
//             the outcome arrives); keyed by (run_id, device_id, request_id)
//   battery   per-device battery samples (simulation runs)
//   run_metrics  named totals per run (simulation: battery-empty events, device-days, ...)
// Prompts and answers are never stored: only lengths, timings, tiers, costs and energy.
// The SQL is plain (no SQLite-only types) so the same tables fit PostgreSQL.
// Functions take the Database of the calling thread (see sqlite.h for the threading rule).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/sqlite.h"

namespace partita::storage {

inline constexpr int kRequestLogSchemaVersion = 1;
// Rows carry this many leading hex digits of the policy's SHA-256 (runs.policy_hash has all).
inline constexpr std::size_t kPolicyVersionChars = 16;

struct RunInfo {
  std::int64_t run_id = 0;  // assigned by InsertRun
  std::string source;       // "sim" or "router"
  std::string label;        // how reports name the run (the policy name for sim runs)
  std::string policy_name;
  std::string policy_hash;  // SHA-256 of the policy file
  std::string fleet_name;   // sim only
  std::string fleet_hash;   // sim only
  std::string catalog_hash;
  std::uint64_t seed = 0;  // sim only
  double hours = 0;        // simulated hours (sim) or 0
  std::int64_t devices = 0;
  std::string partita_version;
  std::int64_t started_unix_ms = 0;      // wall clock when the run started
  std::int64_t time_origin_unix_ms = 0;  // sim: simulated time of t=0; router: = started
};

// What was decided, and on what facts. Text fields use the YAML spellings ("cloud", "wifi").
struct DecisionRecord {
  std::int64_t run_id = 0;
  std::uint64_t request_id = 0;
  std::string device_id;
  std::string device_profile;
  std::string household;
  std::int64_t t_ms = 0;  // unix ms of the decision (simulated clock in sim runs)
  int hour = 0;           // local hour of day 0..23
  std::string kind;       // command | chat | reasoning
  std::string privacy;    // public | normal | private
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;  // expected answer tokens
  double difficulty = 0;
  std::uint32_t latency_budget_ms = 0;
  double max_cost_usd = 0;
  double battery_pct = 0;
  bool charging = false;
  std::string thermal;
  std::string network;
  double rtt_ms = 0;
  double cloud_load = 0;
  bool cloud_healthy = true;
  bool phone_available = false;
  std::string policy_version;
  std::string rule;
  std::string tier;  // decided tier; "" when no tier was allowed
  std::string model;
  std::string fallback;  // comma-separated tiers, in order
  std::string guards;    // comma-separated names of guards that applied
  std::uint32_t deadline_ms = 0;
  bool decided_offline = false;
  double decide_us = 0;        // time the decision function took
  double pred_latency_ms = 0;  // the predictor's figures for the chosen route
  double pred_ttft_ms = 0;
  double pred_cost_usd = 0;
  double pred_energy_j = 0;
  double pred_quality = 0;
};

// What actually happened.
struct OutcomeRecord {
  std::int64_t run_id = 0;
  std::uint64_t request_id = 0;
  std::string device_id;
  std::int64_t t_ms = 0;   // unix ms when the outcome was recorded
  std::string final_tier;  // "" when every tier failed
  std::string final_model;
  bool success = false;
  bool truncated = false;
  double ttft_ms = 0;
  double total_ms = 0;
  std::uint32_t tokens_out = 0;
  double cost_usd = 0;
  double energy_j = 0;
  double quality = 0;  // predicted quality of the model that answered
  std::uint32_t attempts = 0;
  std::string fallback_cause;  // result of the first failed attempt ("no_first_token"), or ""
  std::string trail;           // "cloud:no_first_token:812>phone:ok:950" (tier:result:ms)
  bool deadline_missed = false;
  std::string error;  // why the request failed, when it did
};

// Creates the tables and indexes if missing; refuses a database of a newer schema version.
Status CreateRequestLogSchema(Database& db);

// Inserts a run and sets info.run_id.
Status InsertRun(Database& db, RunInfo& info);
Result<std::vector<RunInfo>> ReadRuns(Database& db);

// Router: the decision first (outcome columns NULL)...
Status InsertDecision(Database& db, const DecisionRecord& decision);
// ...then the outcome, on the decision's row: in this run, else in one of the four runs before
// it (decided before a router restart; request ids are unique per device across restarts). If
// no decision row exists (an offline decision made by the agent), `decision` (when given) is
// inserted with it. Idempotent: an outcome sent twice updates the same row.
Status UpsertOutcome(Database& db, const OutcomeRecord& outcome,
                     const DecisionRecord* decision = nullptr);
// Simulator: both at once.
Status InsertRequest(Database& db, const DecisionRecord& decision, const OutcomeRecord& outcome);

Status InsertBatterySample(Database& db, std::int64_t run_id, const std::string& device_id,
                           std::int64_t t_ms, double battery_pct, bool charging);

// Named totals of a run (e.g. "battery_empty_events"); replaces an existing value.
Status InsertRunMetric(Database& db, std::int64_t run_id, std::string_view name, double value);
Result<std::vector<std::pair<std::string, double>>> ReadRunMetrics(Database& db,
                                                                   std::int64_t run_id);

}  // namespace partita::storage
