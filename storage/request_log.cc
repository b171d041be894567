#include "storage/request_log.h"

#include <vector>

namespace partita::storage {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  label TEXT NOT NULL,
  policy_name TEXT NOT NULL DEFAULT '',
  policy_hash TEXT NOT NULL DEFAULT '',
  fleet_name TEXT NOT NULL DEFAULT '',
  fleet_hash TEXT NOT NULL DEFAULT '',
  catalog_hash TEXT NOT NULL DEFAULT '',
  seed INTEGER NOT NULL DEFAULT 0,
  hours REAL NOT NULL DEFAULT 0,
  devices INTEGER NOT NULL DEFAULT 0,
  partita_version TEXT NOT NULL,
  started_unix_ms INTEGER NOT NULL,
  time_origin_unix_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  request_id INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  device_profile TEXT NOT NULL DEFAULT '',
  household TEXT NOT NULL DEFAULT '',
  t_ms INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  kind TEXT NOT NULL DEFAULT '',
  privacy TEXT NOT NULL DEFAULT '',
  tokens_in INTEGER NOT NULL DEFAULT 0,
  tokens_out_expected INTEGER NOT NULL DEFAULT 0,
  difficulty REAL NOT NULL DEFAULT 0,
  latency_budget_ms INTEGER NOT NULL DEFAULT 0,
  max_cost_usd REAL NOT NULL DEFAULT 0,
  battery_pct REAL NOT NULL DEFAULT 0,
  charging INTEGER NOT NULL DEFAULT 0,
  thermal TEXT NOT NULL DEFAULT '',
  network TEXT NOT NULL DEFAULT '',
  rtt_ms REAL NOT NULL DEFAULT 0,
  cloud_load REAL NOT NULL DEFAULT 0,
  cloud_healthy INTEGER NOT NULL DEFAULT 1,
  phone_available INTEGER NOT NULL DEFAULT 0,
  policy_version TEXT NOT NULL DEFAULT '',
  rule TEXT NOT NULL DEFAULT '',
  tier TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  fallback TEXT NOT NULL DEFAULT '',
  guards TEXT NOT NULL DEFAULT '',
  deadline_ms INTEGER NOT NULL DEFAULT 0,
  decided_offline INTEGER NOT NULL DEFAULT 0,
  decide_us REAL NOT NULL DEFAULT 0,
  pred_latency_ms REAL NOT NULL DEFAULT 0,
  pred_ttft_ms REAL NOT NULL DEFAULT 0,
  pred_cost_usd REAL NOT NULL DEFAULT 0,
  pred_energy_j REAL NOT NULL DEFAULT 0,
  pred_quality REAL NOT NULL DEFAULT 0,
  outcome_t_ms INTEGER,
  final_tier TEXT,
  final_model TEXT,
  success INTEGER,
  truncated INTEGER,
  ttft_ms REAL,
  total_ms REAL,
  tokens_out INTEGER,
  cost_usd REAL,
  energy_j REAL,
  quality REAL,
  attempts INTEGER,
  fallback_cause TEXT,
  trail TEXT,
  deadline_missed INTEGER,
  error TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS requests_key ON requests(run_id, request_id, device_id);
CREATE TABLE IF NOT EXISTS battery (
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  device_id TEXT NOT NULL,
  t_ms INTEGER NOT NULL,
  battery_pct REAL NOT NULL,
  charging INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS battery_run ON battery(run_id, t_ms);
CREATE TABLE IF NOT EXISTS run_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, name)
);
)sql";

#define PARTITA_DECISION_COLUMNS                                                               \
  "run_id, request_id, device_id, device_profile, household, t_ms, hour, kind, privacy, "      \
  "tokens_in, tokens_out_expected, difficulty, latency_budget_ms, max_cost_usd, battery_pct, " \
  "charging, thermal, network, rtt_ms, cloud_load, cloud_healthy, phone_available, "           \
  "policy_version, rule, tier, model, fallback, guards, deadline_ms, decided_offline, "        \
  "decide_us, pred_latency_ms, pred_ttft_ms, pred_cost_usd, pred_energy_j, pred_quality"
#define PARTITA_DECISION_PARAMS                                                            \
  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, " \
  "?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36"
#define PARTITA_OUTCOME_COLUMNS                                                                \
  "outcome_t_ms, final_tier, final_model, success, truncated, ttft_ms, total_ms, tokens_out, " \
  "cost_usd, energy_j, quality, attempts, fallback_cause, trail, deadline_missed, error"
#define PARTITA_OUTCOME_PARAMS \
  "?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47, ?48, ?49, ?50, ?51, ?52"

constexpr const char* kInsertDecision =
    "INSERT INTO requests (" PARTITA_DECISION_COLUMNS ") VALUES (" PARTITA_DECISION_PARAMS
    ") ON CONFLICT(run_id, device_id, request_id) DO NOTHING";

constexpr const char* kInsertRequest =
    "INSERT INTO requests (" PARTITA_DECISION_COLUMNS ", " PARTITA_OUTCOME_COLUMNS
    ") VALUES (" PARTITA_DECISION_PARAMS ", " PARTITA_OUTCOME_PARAMS ")";

constexpr const char* kUpdateOutcome =
    "UPDATE requests SET outcome_t_ms = ?37, final_tier = ?38, final_model = ?39, success = ?40, "
    "truncated = ?41, ttft_ms = ?42, total_ms = ?43, tokens_out = ?44, cost_usd = ?45, "
    "energy_j = ?46, quality = ?47, attempts = ?48, fallback_cause = ?49, trail = ?50, "
    "deadline_missed = ?51, error = ?52 WHERE run_id = ?1 AND device_id = ?3 AND "
    "request_id = ?2";

void BindDecision(Statement& s, const DecisionRecord& d) {
  s.Bind(1, d.run_id)
      .Bind(2, static_cast<std::int64_t>(d.request_id))
      .BindView(3, std::string_view(d.device_id))
      .BindView(4, std::string_view(d.device_profile))
      .BindView(5, std::string_view(d.household))
      .Bind(6, d.t_ms)
      .Bind(7, d.hour)
      .BindView(8, std::string_view(d.kind))
      .BindView(9, std::string_view(d.privacy))
      .Bind(10, d.tokens_in)
      .Bind(11, d.tokens_out)
      .Bind(12, d.difficulty)
      .Bind(13, d.latency_budget_ms)
      .Bind(14, d.max_cost_usd)
      .Bind(15, d.battery_pct)
      .Bind(16, d.charging)
      .BindView(17, std::string_view(d.thermal))
      .BindView(18, std::string_view(d.network))
      .Bind(19, d.rtt_ms)
      .Bind(20, d.cloud_load)
      .Bind(21, d.cloud_healthy)
      .Bind(22, d.phone_available)
      .BindView(23, std::string_view(d.policy_version))
      .BindView(24, std::string_view(d.rule))
      .BindView(25, std::string_view(d.tier))
      .BindView(26, std::string_view(d.model))
      .BindView(27, std::string_view(d.fallback))
      .BindView(28, std::string_view(d.guards))
      .Bind(29, d.deadline_ms)
      .Bind(30, d.decided_offline)
      .Bind(31, d.decide_us)
      .Bind(32, d.pred_latency_ms)
      .Bind(33, d.pred_ttft_ms)
      .Bind(34, d.pred_cost_usd)
      .Bind(35, d.pred_energy_j)
      .Bind(36, d.pred_quality);
}

void BindOutcome(Statement& s, const OutcomeRecord& o) {
  s.Bind(37, o.t_ms)
      .BindView(38, std::string_view(o.final_tier))
      .BindView(39, std::string_view(o.final_model))
      .Bind(40, o.success)
      .Bind(41, o.truncated)
      .Bind(42, o.ttft_ms)
      .Bind(43, o.total_ms)
      .Bind(44, o.tokens_out)
      .Bind(45, o.cost_usd)
      .Bind(46, o.energy_j)
      .Bind(47, o.quality)
      .Bind(48, o.attempts)
      .BindView(49, std::string_view(o.fallback_cause))
      .BindView(50, std::string_view(o.trail))
      .Bind(51, o.deadline_missed)
      .BindView(52, std::string_view(o.error));
}

Statement* CachedOrError(Database& db, const char* sql, Status& error) {
  Statement* s = db.Cached(sql);
  if (s == nullptr) error = IoError("SQLite: " + db.LastError());
  return s;
}

}  // namespace

Status CreateRequestLogSchema(Database& db) {
  Result<std::int64_t> version = db.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > kRequestLogSchemaVersion) {
    return FailedPrecondition("'" + db.path() + "' has request-log schema version " +
                              std::to_string(*version) + "; this partita understands up to " +
                              std::to_string(kRequestLogSchemaVersion));
  }
  PARTITA_RETURN_IF_ERROR(db.Exec(kSchema));
  return db.Exec("PRAGMA user_version = " + std::to_string(kRequestLogSchemaVersion));
}

Status InsertRun(Database& db, RunInfo& info) {
  Status error;
  Statement* s = CachedOrError(
      db,
      "INSERT INTO runs (source, label, policy_name, policy_hash, fleet_name, fleet_hash, "
      "catalog_hash, seed, hours, devices, partita_version, started_unix_ms, "
      "time_origin_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
      error);
  if (s == nullptr) return error;
  s->Bind(1, std::string_view(info.source))
      .Bind(2, std::string_view(info.label))
      .Bind(3, std::string_view(info.policy_name))
      .Bind(4, std::string_view(info.policy_hash))
      .Bind(5, std::string_view(info.fleet_name))
      .Bind(6, std::string_view(info.fleet_hash))
      .Bind(7, std::string_view(info.catalog_hash))
      .Bind(8, static_cast<std::int64_t>(info.seed))
      .Bind(9, info.hours)
      .Bind(10, info.devices)
      .Bind(11, std::string_view(info.partita_version))
      .Bind(12, info.started_unix_ms)
      .Bind(13, info.time_origin_unix_ms);
  PARTITA_RETURN_IF_ERROR(s->Run());
  info.run_id = sqlite3_last_insert_rowid(db.handle());
  return Status::Ok();
}

Result<std::vector<RunInfo>> ReadRuns(Database& db) {
  Result<Statement> s = db.Prepare(
      "SELECT run_id, source, label, policy_name, policy_hash, fleet_name, fleet_hash, "
      "catalog_hash, seed, hours, devices, partita_version, started_unix_ms, time_origin_unix_ms "
      "FROM runs ORDER BY run_id");
  if (!s.ok()) return s.status();
  std::vector<RunInfo> runs;
  for (;;) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    RunInfo r;
    r.run_id = s->Int(0);
    r.source = s->Text(1);
    r.label = s->Text(2);
    r.policy_name = s->Text(3);
    r.policy_hash = s->Text(4);
    r.fleet_name = s->Text(5);
    r.fleet_hash = s->Text(6);
    r.catalog_hash = s->Text(7);
    r.seed = static_cast<std::uint64_t>(s->Int(8));
    r.hours = s->Double(9);
    r.devices = s->Int(10);
    r.partita_version = s->Text(11);
    r.started_unix_ms = s->Int(12);
    r.time_origin_unix_ms = s->Int(13);
    runs.push_back(std::move(r));
  }
  return runs;
}

Status InsertDecision(Database& db, const DecisionRecord& decision) {
  Status error;
  Statement* s = CachedOrError(db, kInsertDecision, error);
  if (s == nullptr) return error;
  BindDecision(*s, decision);
  return s->Run();
}

Status UpsertOutcome(Database& db, const OutcomeRecord& outcome, const DecisionRecord* decision) {
  Status error;
  Statement* update = CachedOrError(db, kUpdateOutcome, error);
  if (update == nullptr) return error;
  // Returns whether the decision's row in `run_id` was there and now has the outcome.
  auto update_in = [&](std::int64_t run_id) -> Result<bool> {
    update->Bind(1, run_id)
        .Bind(2, static_cast<std::int64_t>(outcome.request_id))
        .Bind(3, std::string_view(outcome.device_id));
    BindOutcome(*update, outcome);
    PARTITA_RETURN_IF_ERROR(update->Run());
    return sqlite3_changes(db.handle()) > 0;
  };
  Result<bool> found = update_in(outcome.run_id);
  if (!found.ok()) return found.status();
  if (*found) return Status::Ok();
  // Decided before a restart of the router: the row is in one of the previous runs (request
  // ids are unique per device across restarts), and must not be logged twice.
  Statement* earlier = CachedOrError(
      db, "SELECT run_id FROM runs WHERE run_id < ?1 ORDER BY run_id DESC LIMIT 4", error);
  if (earlier == nullptr) return error;
  earlier->Bind(1, outcome.run_id);
  std::vector<std::int64_t> runs;
  for (;;) {
    Result<bool> row = earlier->Step();
    if (!row.ok()) {
      earlier->Reset();
      return row.status();
    }
    if (!*row) break;
    runs.push_back(earlier->Int(0));
  }
  earlier->Reset();
  for (std::int64_t run_id : runs) {
    found = update_in(run_id);
    if (!found.ok()) return found.status();
    if (*found) return Status::Ok();
  }
  if (decision == nullptr) {
    return NotFound("no decision for request " + std::to_string(outcome.request_id) +
                    " of device '" + outcome.device_id + "'");
  }
  // Decided by the agent alone (offline), or its decision row was lost: the outcome carries
  // the decision's facts.
  PARTITA_RETURN_IF_ERROR(InsertDecision(db, *decision));
  found = update_in(outcome.run_id);
  if (!found.ok()) return found.status();
  return Status::Ok();
}

Status InsertRequest(Database& db, const DecisionRecord& decision, const OutcomeRecord& outcome) {
  Status error;
  Statement* s = CachedOrError(db, kInsertRequest, error);
  if (s == nullptr) return error;
  BindDecision(*s, decision);
  BindOutcome(*s, outcome);
  return s->Run();
}

Status InsertBatterySample(Database& db, std::int64_t run_id, const std::string& device_id,
                           std::int64_t t_ms, double battery_pct, bool charging) {
  Status error;
  Statement* s = CachedOrError(
      db,
      "INSERT INTO battery (run_id, device_id, t_ms, battery_pct, charging) VALUES (?1, ?2, ?3, "
      "?4, ?5)",
      error);
  if (s == nullptr) return error;
  s->Bind(1, run_id)
      .BindView(2, std::string_view(device_id))
      .Bind(3, t_ms)
      .Bind(4, battery_pct)
      .Bind(5, charging);
  return s->Run();
}

Status InsertRunMetric(Database& db, std::int64_t run_id, std::string_view name, double value) {
  Status error;
  Statement* s = CachedOrError(
      db, "INSERT OR REPLACE INTO run_metrics (run_id, name, value) VALUES (?1, ?2, ?3)", error);
  if (s == nullptr) return error;
  s->Bind(1, run_id).Bind(2, name).Bind(3, value);
  return s->Run();
}

Result<std::vector<std::pair<std::string, double>>> ReadRunMetrics(Database& db,
                                                                   std::int64_t run_id) {
  Result<Statement> s =
      db.Prepare("SELECT name, value FROM run_metrics WHERE run_id = ?1 ORDER BY name");
  if (!s.ok()) return s.status();
  s->Bind(1, run_id);
  std::vector<std::pair<std::string, double>> out;
  for (;;) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(std::string(s->Text(0)), s->Double(1));
  }
  return out;
}

}  // namespace partita::storage
