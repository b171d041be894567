#include "storage/request_log.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <vector>

namespace partita::storage {

namespace {

// The `requests` table comes from request_row.h (RequestsTableSql), created before these.
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

constexpr int Param(RequestColumn c) { return static_cast<int>(c) + 1; }

std::string_view SqlTypeName(SqlType t) {
  switch (t) {
    case SqlType::kInteger: return "INTEGER";
    case SqlType::kReal: return "REAL";
    case SqlType::kText: return "TEXT";
  }
  return "TEXT";
}

// Values as the records hold them, bound and read as the column's SQL type.
void BindValue(Statement& s, int i, std::int64_t v) { s.Bind(i, v); }
void BindValue(Statement& s, int i, std::uint64_t v) { s.Bind(i, static_cast<std::int64_t>(v)); }
void BindValue(Statement& s, int i, int v) { s.Bind(i, v); }
void BindValue(Statement& s, int i, std::uint32_t v) { s.Bind(i, v); }
void BindValue(Statement& s, int i, bool v) { s.Bind(i, v); }
void BindValue(Statement& s, int i, double v) { s.Bind(i, v); }
void BindValue(Statement& s, int i, const std::string& v) { s.BindView(i, v); }
void BindValue(Statement& s, int i, const std::optional<Tier>& v) {
  s.BindView(i, v ? Name(*v) : std::string_view(""));  // '' (not NULL) when there is none
}

void ReadValue(const Statement& s, int c, std::int64_t& v) { v = s.Int(c); }
void ReadValue(const Statement& s, int c, std::uint64_t& v) {
  v = static_cast<std::uint64_t>(s.Int(c));
}
void ReadValue(const Statement& s, int c, int& v) { v = static_cast<int>(s.Int(c)); }
void ReadValue(const Statement& s, int c, std::uint32_t& v) {
  v = static_cast<std::uint32_t>(s.Int(c));
}
void ReadValue(const Statement& s, int c, bool& v) { v = s.Int(c) != 0; }
void ReadValue(const Statement& s, int c, double& v) { v = s.Double(c); }
void ReadValue(const Statement& s, int c, std::string& v) { v = s.Text(c); }
void ReadValue(const Statement& s, int c, std::optional<Tier>& v) { v = ParseTier(s.Text(c)); }

std::string Literal(std::int64_t v) { return std::to_string(v); }
std::string Literal(std::uint64_t v) { return std::to_string(v); }
std::string Literal(int v) { return std::to_string(v); }
std::string Literal(std::uint32_t v) { return std::to_string(v); }
std::string Literal(bool v) { return v ? "1" : "0"; }
std::string Literal(double v) {
  char digits[32];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  return ec == std::errc() ? std::string(digits, end) : "0";
}
std::string Literal(std::string_view v) {
  std::string quoted = "'";
  for (char c : v) quoted += c == '\'' ? std::string_view("''") : std::string_view(&c, 1);
  return quoted + "'";
}
std::string Literal(const std::string& v) { return Literal(std::string_view(v)); }
std::string Literal(const std::optional<Tier>& v) { return Literal(v ? Name(*v) : ""); }

// The default each column takes in a row that does not set it.
std::string DefaultLiteral(RequestColumn c) {
  switch (c) {
#define PARTITA_DECISION_DEFAULT(type, field, column, init) \
  case RequestColumn::column:                               \
    return Literal(DecisionRecord{}.field);
#define PARTITA_OUTCOME_DEFAULT(type, field, column, init) \
  case RequestColumn::column: return Literal(OutcomeRecord{}.field);
    PARTITA_REQUEST_KEY_COLUMNS(PARTITA_DECISION_DEFAULT)
    PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_DECISION_DEFAULT)
    PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_OUTCOME_DEFAULT)
#undef PARTITA_DECISION_DEFAULT
#undef PARTITA_OUTCOME_DEFAULT
    case RequestColumn::kCount: break;
  }
  return "NULL";
}

template <typename Record>
void BindKey(Statement& s, const Record& r) {
#define PARTITA_BIND(type, field, column, init) BindValue(s, Param(RequestColumn::column), r.field);
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_BIND)
}

void BindDecisionColumns(Statement& s, const DecisionRecord& r) {
  PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_BIND)
}

void BindOutcomeColumns(Statement& s, const OutcomeRecord& r) {
  PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_BIND)
#undef PARTITA_BIND
}

// A row selected with every column in table order.
void ReadRow(const Statement& s, DecisionRecord& d, OutcomeRecord& o) {
#define PARTITA_READ_KEY(type, field, column, init)               \
  ReadValue(s, static_cast<int>(RequestColumn::column), d.field); \
  o.field = d.field;
#define PARTITA_READ(record, type, field, column) \
  ReadValue(s, static_cast<int>(RequestColumn::column), record.field);
#define PARTITA_READ_DECISION(type, field, column, init) PARTITA_READ(d, type, field, column)
#define PARTITA_READ_OUTCOME(type, field, column, init) PARTITA_READ(o, type, field, column)
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_READ_KEY)
  PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_READ_DECISION)
  PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_READ_OUTCOME)
#undef PARTITA_READ_KEY
#undef PARTITA_READ
#undef PARTITA_READ_DECISION
#undef PARTITA_READ_OUTCOME
}

std::string ColumnDefinition(const RequestColumnInfo& c) {
  std::string sql = std::string(c.name) + " " + std::string(SqlTypeName(c.type));
  const auto column = static_cast<RequestColumn>(&c - kRequestColumns.data());
  switch (c.part) {
    case RowPart::kKey:
      sql += " NOT NULL";
      if (column == RequestColumn::run_id) sql += " REFERENCES runs(run_id)";
      break;
    case RowPart::kDecision: sql += " NOT NULL DEFAULT " + DefaultLiteral(column); break;
    case RowPart::kOutcome: break;  // NULL until the outcome arrives
  }
  return sql;
}

std::string RequestsTableSql() {
  std::string sql = "CREATE TABLE IF NOT EXISTS requests (";
  for (const RequestColumnInfo& c : kRequestColumns) {
    if (&c != kRequestColumns.data()) sql += ", ";
    sql += ColumnDefinition(c);
  }
  return sql + ")";
}

// "name, name, ..." and "?i, ?i, ..." (the column's position + 1) for the columns of `parts`.
std::string ColumnNames(std::initializer_list<RowPart> parts, bool as_params) {
  std::string out;
  for (std::size_t i = 0; i < kRequestColumnCount; ++i) {
    const RequestColumnInfo& c = kRequestColumns[i];
    if (std::find(parts.begin(), parts.end(), c.part) == parts.end()) continue;
    if (!out.empty()) out += ", ";
    out += as_params ? "?" + std::to_string(i + 1) : std::string(c.name);
  }
  return out;
}

const std::string& InsertDecisionSql() {
  static const std::string sql =
      "INSERT INTO requests (" + ColumnNames({RowPart::kKey, RowPart::kDecision}, false) +
      ") VALUES (" + ColumnNames({RowPart::kKey, RowPart::kDecision}, true) +
      ") ON CONFLICT(run_id, device_id, request_id) DO NOTHING";
  return sql;
}

const std::string& InsertRequestSql() {
  static const std::string sql =
      "INSERT INTO requests (" +
      ColumnNames({RowPart::kKey, RowPart::kDecision, RowPart::kOutcome}, false) + ") VALUES (" +
      ColumnNames({RowPart::kKey, RowPart::kDecision, RowPart::kOutcome}, true) + ")";
  return sql;
}

const std::string& UpdateOutcomeSql() {
  static const std::string sql = [] {
    std::string set;
    for (std::size_t i = 0; i < kRequestColumnCount; ++i) {
      if (kRequestColumns[i].part != RowPart::kOutcome) continue;
      if (!set.empty()) set += ", ";
      set += std::string(kRequestColumns[i].name) + " = ?" + std::to_string(i + 1);
    }
    return "UPDATE requests SET " + set + " WHERE run_id = ?" +
           std::to_string(Param(RequestColumn::run_id)) + " AND device_id = ?" +
           std::to_string(Param(RequestColumn::device_id)) + " AND request_id = ?" +
           std::to_string(Param(RequestColumn::request_id));
  }();
  return sql;
}

// The request columns this file has.
Result<std::vector<std::string>> ExistingColumns(Database& db) {
  Result<Statement> s = db.Prepare("SELECT name FROM pragma_table_info('requests')");
  if (!s.ok()) return s.status();
  std::vector<std::string> names;
  for (;;) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    names.emplace_back(s->Text(0));
  }
  return names;
}

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Statement* CachedOrError(Database& db, std::string_view sql, Status& error) {
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
  PARTITA_RETURN_IF_ERROR(db.Exec(RequestsTableSql()));
  Result<std::vector<std::string>> existing = ExistingColumns(db);
  if (!existing.ok()) return existing.status();
  for (const RequestColumnInfo& c : kRequestColumns) {
    if (Contains(*existing, c.name)) continue;
    PARTITA_RETURN_IF_ERROR(db.Exec("ALTER TABLE requests ADD COLUMN " + ColumnDefinition(c)));
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
  Statement* s = CachedOrError(db, InsertDecisionSql(), error);
  if (s == nullptr) return error;
  BindKey(*s, decision);
  BindDecisionColumns(*s, decision);
  return s->Run();
}

Status UpsertOutcome(Database& db, const OutcomeRecord& outcome, const DecisionRecord* decision) {
  Status error;
  Statement* update = CachedOrError(db, UpdateOutcomeSql(), error);
  if (update == nullptr) return error;
  // Returns whether the decision's row in `run_id` was there and now has the outcome.
  auto update_in = [&](std::int64_t run_id) -> Result<bool> {
    BindKey(*update, outcome);
    update->Bind(Param(RequestColumn::run_id), run_id);
    BindOutcomeColumns(*update, outcome);
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
  Statement* s = CachedOrError(db, InsertRequestSql(), error);
  if (s == nullptr) return error;
  BindKey(*s, decision);
  BindDecisionColumns(*s, decision);
  BindOutcomeColumns(*s, outcome);
  return s->Run();
}

Result<std::string> SelectList(Database& db, std::span<const RequestColumn> columns,
                               std::string_view alias) {
  Result<std::vector<std::string>> existing = ExistingColumns(db);
  if (!existing.ok()) return existing.status();
  if (existing->empty()) return InvalidArgument("'" + db.path() + "' has no 'requests' table");
  std::string list;
  for (RequestColumn c : columns) {
    if (!list.empty()) list += ", ";
    if (Contains(*existing, Name(c))) {
      if (!alias.empty()) list += std::string(alias) + ".";
      list += Name(c);
    } else {
      list += DefaultLiteral(c) + " AS " + std::string(Name(c));
    }
  }
  return list;
}

Result<RequestReader> RequestReader::Open(Database& db, std::string_view from) {
  std::array<RequestColumn, kRequestColumnCount> all;
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<RequestColumn>(i);
  Result<std::string> list = SelectList(db, all, "q");
  if (!list.ok()) return list.status();
  Result<Statement> s = db.Prepare("SELECT " + *list + " " + std::string(from));
  if (!s.ok()) return s.status();
  return RequestReader(std::move(*s));
}

Result<bool> RequestReader::Next(DecisionRecord& decision, OutcomeRecord& outcome,
                                 bool& has_outcome) {
  Result<bool> row = statement_.Step();
  if (!row.ok() || !*row) return row;
  ReadRow(statement_, decision, outcome);
  has_outcome = !statement_.IsNull(static_cast<int>(RequestColumn::outcome_t_ms));
  return true;
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
