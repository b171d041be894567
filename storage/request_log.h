// The request log: one schema for decisions and outcomes, written by the router (production)
// and by the simulator, read by `partita report` and `partita sim --replay`.
//
// Tables (docs/request-log.md documents every column with its unit):
//   runs      one row per router process start or per simulated policy
//   requests  one row per request: the columns of request_row.h, the decision's then the
//             outcome's (NULL until the outcome arrives); keyed by (run_id, device_id, request_id)
//   battery   per-device battery samples (simulation runs)
//   run_metrics  named totals per run (simulation: battery-empty events, device-days, ...)
// Prompts and answers are never stored: only lengths, timings, tiers, costs and energy.
// The SQL is plain (no SQLite-only types) so the same tables fit PostgreSQL.
// Functions take the Database of the calling thread (see sqlite.h for the threading rule).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/request_row.h"
#include "storage/sqlite.h"

namespace partita::storage {

// Bumped only by a change older readers cannot follow; a new column is not one (readers select
// the columns they know, and a writer adds the ones a file lacks).
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

// Creates the tables and indexes if missing, and adds the request columns an older file lacks;
// refuses a database of a newer schema version.
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

// Reads rows of `requests`: every column of request_row.h into the records (a column the file
// predates reads as its default). `from` completes "SELECT <columns> " with the table aliased
// `q`, e.g. "FROM requests q JOIN runs r USING (run_id) WHERE r.source = 'router' ORDER BY
// q.t_ms". The Database must outlive the reader.
class RequestReader {
 public:
  static Result<RequestReader> Open(Database& db, std::string_view from);
  // The next row; false at the end. `has_outcome` is false while the outcome columns are NULL.
  Result<bool> Next(DecisionRecord& decision, OutcomeRecord& outcome, bool& has_outcome);

 private:
  explicit RequestReader(Statement statement) : statement_(std::move(statement)) {}
  Statement statement_;
};

// "q.tier, q.success, 0 AS new_column": the select list of `columns` in that order, each
// qualified with `alias` (none when empty); a column the file predates selects its default.
// For readers that step raw: the value of columns[i] is result column i.
Result<std::string> SelectList(Database& db, std::span<const RequestColumn> columns,
                               std::string_view alias = "");

Status InsertBatterySample(Database& db, std::int64_t run_id, const std::string& device_id,
                           std::int64_t t_ms, double battery_pct, bool charging);

// Named totals of a run (e.g. "battery_empty_events"); replaces an existing value.
Status InsertRunMetric(Database& db, std::int64_t run_id, std::string_view name, double value);
Result<std::vector<std::pair<std::string, double>>> ReadRunMetrics(Database& db,
                                                                   std::int64_t run_id);

}  // namespace partita::storage
