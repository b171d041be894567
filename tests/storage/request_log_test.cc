#include "storage/request_log.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace partita::storage {
namespace {

DecisionRecord Decision(std::int64_t run, std::uint64_t id, const std::string& device) {
  DecisionRecord d;
  d.run_id = run;
  d.request_id = id;
  d.device_id = device;
  d.device_profile = "smart-speaker";
  d.t_ms = 1'700'000'000'000;
  d.hour = 9;
  d.kind = "command";
  d.privacy = "normal";
  d.tokens_in = 12;
  d.tier = Tier::kDevice;
  d.model = "milm-1.3b";
  d.rule = "easy-stays-local";
  d.fallback = "phone,cloud";
  return d;
}

OutcomeRecord Outcome(std::int64_t run, std::uint64_t id, const std::string& device) {
  OutcomeRecord o;
  o.run_id = run;
  o.request_id = id;
  o.device_id = device;
  o.final_tier = Tier::kPhone;
  o.success = true;
  o.total_ms = 812.5;
  o.attempts = 2;
  o.fallback_cause = "refused";
  o.trail = "device:refused:3>phone:ok:809";
  return o;
}

TEST_CASE("The request log keeps runs, decisions and their outcomes") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("log.db"));
  REQUIRE(db.ok());
  Database& d = **db;
  REQUIRE(CreateRequestLogSchema(d).ok());
  REQUIRE(CreateRequestLogSchema(d).ok());  // idempotent
  RunInfo run;
  run.source = "router";
  run.label = "production";
  run.partita_version = "test";
  REQUIRE(InsertRun(d, run).ok());
  CHECK(run.run_id == 1);

  REQUIRE(InsertDecision(d, Decision(run.run_id, 1, "speaker")).ok());
  REQUIRE(InsertDecision(d, Decision(run.run_id, 1, "speaker")).ok());  // duplicate: no-op
  REQUIRE(UpsertOutcome(d, Outcome(run.run_id, 1, "speaker")).ok());
  // An outcome with no decision (offline) needs the decision facts.
  CHECK(UpsertOutcome(d, Outcome(run.run_id, 2, "speaker")).code() == StatusCode::kNotFound);
  DecisionRecord offline = Decision(run.run_id, 2, "speaker");
  offline.decided_offline = true;
  REQUIRE(UpsertOutcome(d, Outcome(run.run_id, 2, "speaker"), &offline).ok());

  CHECK(*d.QueryInt("SELECT count(*) FROM requests") == 2);
  CHECK(*d.QueryInt("SELECT count(*) FROM requests WHERE final_tier = 'phone'") == 2);
  CHECK(*d.QueryInt("SELECT decided_offline FROM requests WHERE request_id = 2") == 1);
  auto runs = ReadRuns(d);
  REQUIRE(runs.ok());
  REQUIRE(runs->size() == 1);
  CHECK((*runs)[0].label == "production");
}

TEST_CASE("An outcome that arrives after a router restart completes its decision's row") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("log.db"));
  REQUIRE(db.ok());
  Database& d = **db;
  REQUIRE(CreateRequestLogSchema(d).ok());
  RunInfo before;
  before.source = "router";
  before.partita_version = "test";
  REQUIRE(InsertRun(d, before).ok());
  REQUIRE(InsertDecision(d, Decision(before.run_id, 7, "speaker")).ok());
  RunInfo after = before;  // the router restarted: a new run
  REQUIRE(InsertRun(d, after).ok());
  REQUIRE(after.run_id > before.run_id);

  // The agent sends the outcome (with the decision's facts) to the new run, twice: the ack of
  // the first was lost with the connection.
  DecisionRecord facts = Decision(after.run_id, 7, "speaker");
  for (int i = 0; i < 2; ++i)
    REQUIRE(UpsertOutcome(d, Outcome(after.run_id, 7, "speaker"), &facts).ok());
  CHECK(*d.QueryInt("SELECT count(*) FROM requests") == 1);
  CHECK(*d.QueryInt("SELECT run_id FROM requests WHERE final_tier = 'phone'") == before.run_id);
  // An offline decision is still added to the current run.
  DecisionRecord offline = Decision(after.run_id, 8, "speaker");
  REQUIRE(UpsertOutcome(d, Outcome(after.run_id, 8, "speaker"), &offline).ok());
  CHECK(*d.QueryInt("SELECT run_id FROM requests WHERE request_id = 8") == after.run_id);
  CHECK(*d.QueryInt("SELECT count(*) FROM requests WHERE outcome_t_ms IS NULL") == 0);
}

TEST_CASE("Simulation rows carry decision and outcome together, battery samples are kept") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("sim.db"));
  REQUIRE(db.ok());
  Database& d = **db;
  REQUIRE(CreateRequestLogSchema(d).ok());
  RunInfo run;
  run.source = "sim";
  run.label = "balanced";
  run.seed = 42;
  run.partita_version = "test";
  REQUIRE(InsertRun(d, run).ok());
  REQUIRE(InsertRequest(d, Decision(run.run_id, 7, "d1"), Outcome(run.run_id, 7, "d1")).ok());
  REQUIRE(InsertBatterySample(d, run.run_id, "d1", 3600000, 81.5, false).ok());
  CHECK(*d.QueryInt("SELECT attempts FROM requests WHERE request_id = 7") == 2);
  CHECK(*d.QueryInt("SELECT count(*) FROM battery") == 1);
}

TEST_CASE("A database from a newer schema version is refused") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("new.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("PRAGMA user_version = 99").ok());
  Status s = CreateRequestLogSchema(**db);
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(s.message().find("schema version 99") != std::string::npos);
}

// A value for column `n` that no other column of the row has, and that is not the default.
void Distinct(std::int64_t& v, int n) { v = 1000 + n; }
void Distinct(std::uint64_t& v, int n) { v = 1000 + static_cast<std::uint64_t>(n); }
void Distinct(int& v, int n) { v = 1000 + n; }
void Distinct(std::uint32_t& v, int n) { v = 1000 + static_cast<std::uint32_t>(n); }
void Distinct(bool& v, int) { v = !v; }
void Distinct(double& v, int n) { v = n + 0.25; }
void Distinct(std::string& v, int n) { v = "value-" + std::to_string(n); }
void Distinct(std::optional<Tier>& v, int n) { v = static_cast<Tier>(n % kTierCount); }

// The value as SQL returns it from the column, as text.
std::string AsSql(std::int64_t v) { return std::to_string(v); }
std::string AsSql(std::uint64_t v) { return std::to_string(v); }
std::string AsSql(int v) { return std::to_string(v); }
std::string AsSql(std::uint32_t v) { return std::to_string(v); }
std::string AsSql(bool v) { return v ? "1" : "0"; }
std::string AsSql(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}
std::string AsSql(const std::string& v) { return v; }
std::string AsSql(const std::optional<Tier>& v) { return std::string(v ? Name(*v) : ""); }

std::string ColumnText(Database& db, std::string_view column) {
  auto s = db.Prepare("SELECT printf(CASE typeof(" + std::string(column) +
                      ") WHEN 'real' THEN '%.2f' ELSE '%s' END, " + std::string(column) +
                      ") FROM requests");
  REQUIRE(s.ok());
  auto row = s->Step();
  REQUIRE((row.ok() && *row));
  return std::string(s->Text(0));
}

TEST_CASE("Every request column is created, written, stored under its name and read back") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("round.db"));
  REQUIRE(db.ok());
  Database& d = **db;
  REQUIRE(CreateRequestLogSchema(d).ok());
  RunInfo run;
  run.source = "sim";
  run.partita_version = "test";
  REQUIRE(InsertRun(d, run).ok());

  // The table has the columns of request_row.h, in order, with their SQL types.
  auto info = d.Prepare("SELECT name, type FROM pragma_table_info('requests') ORDER BY cid");
  REQUIRE(info.ok());
  for (const RequestColumnInfo& c : kRequestColumns) {
    auto row = info->Step();
    REQUIRE((row.ok() && *row));
    CHECK(info->Text(0) == c.name);
    CHECK(info->Text(1) == (c.type == SqlType::kText   ? "TEXT"
                            : c.type == SqlType::kReal ? "REAL"
                                                       : "INTEGER"));
  }
  CHECK(!*info->Step());

  // Each column gets a value no other column has; the key is the run's.
  DecisionRecord decision;
  OutcomeRecord outcome;
  int n = 0;
#define PARTITA_SET(record, type, field) Distinct(record.field, n++);
#define PARTITA_SET_KEY(type, field, column, init) PARTITA_SET(decision, type, field)
#define PARTITA_SET_DECISION(type, field, column, init) PARTITA_SET(decision, type, field)
#define PARTITA_SET_OUTCOME(type, field, column, init) PARTITA_SET(outcome, type, field)
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_SET_KEY)
  PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_SET_DECISION)
  PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_SET_OUTCOME)
  CHECK(n == static_cast<int>(kRequestColumnCount));
  decision.run_id = run.run_id;
  outcome.run_id = decision.run_id;
  outcome.request_id = decision.request_id;
  outcome.device_id = decision.device_id;
  REQUIRE(InsertRequest(d, decision, outcome).ok());

  // Stored under its own name (a bind to the wrong position fails here)...
#define PARTITA_STORED(record, field, column) \
  CHECK_MESSAGE(ColumnText(d, #column) == AsSql(record.field), #column);
#define PARTITA_STORED_DECISION(type, field, column, init) PARTITA_STORED(decision, field, column)
#define PARTITA_STORED_OUTCOME(type, field, column, init) PARTITA_STORED(outcome, field, column)
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_STORED_DECISION)
  PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_STORED_DECISION)
  PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_STORED_OUTCOME)

  // ...and read back into the same field.
  auto reader = RequestReader::Open(d, "FROM requests q");
  REQUIRE(reader.ok());
  DecisionRecord read_decision;
  OutcomeRecord read_outcome;
  bool has_outcome = false;
  auto row = reader->Next(read_decision, read_outcome, has_outcome);
  REQUIRE((row.ok() && *row));
  CHECK(has_outcome);
#define PARTITA_READ_BACK(record, read, field, column) \
  CHECK_MESSAGE((read.field == record.field), #column);
#define PARTITA_READ_KEY(type, field, column, init)         \
  PARTITA_READ_BACK(decision, read_decision, field, column) \
  PARTITA_READ_BACK(outcome, read_outcome, field, column)
#define PARTITA_READ_DECISION(type, field, column, init) \
  PARTITA_READ_BACK(decision, read_decision, field, column)
#define PARTITA_READ_OUTCOME(type, field, column, init) \
  PARTITA_READ_BACK(outcome, read_outcome, field, column)
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_READ_KEY)
  PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_READ_DECISION)
  PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_READ_OUTCOME)
  CHECK(!*reader->Next(read_decision, read_outcome, has_outcome));

  // A decision alone, for which no tier was allowed, reads back with no outcome.
  decision.request_id += 1;
  decision.tier.reset();
  REQUIRE(InsertDecision(d, decision).ok());
  auto pending = RequestReader::Open(
      d, "FROM requests q WHERE q.request_id = " + std::to_string(decision.request_id));
  REQUIRE(pending.ok());
  row = pending->Next(read_decision, read_outcome, has_outcome);
  REQUIRE((row.ok() && *row));
  CHECK(!has_outcome);
  CHECK(!read_decision.tier.has_value());
  CHECK(read_decision.guards == decision.guards);
}

TEST_CASE("docs/request-log.md documents every request column") {
  std::ifstream in(std::string(PARTITA_SOURCE_DIR) + "/docs/request-log.md");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::size_t table = doc.find("## `requests`");
  REQUIRE(table != std::string::npos);
  const std::string section = doc.substr(table, doc.find("## `battery`") - table);
  for (const RequestColumnInfo& c : kRequestColumns) {
    CHECK_MESSAGE(section.find("`" + std::string(c.name) + "`") != std::string::npos, c.name);
  }
}

TEST_CASE("A file written before a column existed is read with defaults and gains the column") {
  testing::TempDir tmp;
  const std::string path = tmp.File("old.db");
  // The table as an older partita wrote it: without the last decision and outcome columns.
  const RequestColumnInfo* last_decision = nullptr;
  const RequestColumnInfo* last_outcome = nullptr;
  for (const RequestColumnInfo& c : kRequestColumns) {
    if (c.part == RowPart::kDecision) last_decision = &c;
    if (c.part == RowPart::kOutcome) last_outcome = &c;
  }
  REQUIRE(last_decision != nullptr);
  REQUIRE(last_outcome != nullptr);
  std::string create = "CREATE TABLE requests (";
  std::string insert_names;
  for (const RequestColumnInfo& c : kRequestColumns) {
    if (&c == last_decision || &c == last_outcome) continue;
    if (!insert_names.empty()) {
      create += ", ";
      insert_names += ", ";
    }
    create += std::string(c.name) + (c.type == SqlType::kText ? " TEXT" : " INTEGER");
    insert_names += c.name;
  }
  {
    auto db = Database::Open(path);
    REQUIRE(db.ok());
    REQUIRE((*db)
                ->Exec("CREATE TABLE runs (run_id INTEGER PRIMARY KEY, source TEXT, label TEXT);"
                       "INSERT INTO runs VALUES (1, 'router', 'old');" +
                       create + ");" + "INSERT INTO requests (run_id, request_id, device_id, " +
                       "outcome_t_ms, tier) VALUES (1, 5, 'speaker', 10, 'cloud')")
                .ok());
  }
  {
    auto db = OpenForReading(path);
    REQUIRE(db.ok());
    auto reader = RequestReader::Open(**db, "FROM requests q");
    REQUIRE(reader.ok());
    DecisionRecord d;
    OutcomeRecord o;
    Distinct(o.error, 1);  // stale values the reader must overwrite
    bool has_outcome = false;
    auto row = reader->Next(d, o, has_outcome);
    REQUIRE((row.ok() && *row));
    CHECK(d.request_id == 5);
    CHECK(d.tier == Tier::kCloud);
    CHECK(has_outcome);
    CHECK(o.request_id == 5);
    // The missing columns read as their defaults.
    const auto missing_decision =
        static_cast<RequestColumn>(last_decision - kRequestColumns.data());
    const auto missing_outcome = static_cast<RequestColumn>(last_outcome - kRequestColumns.data());
    int checked = 0;
#define PARTITA_DEFAULTED(record, type, field, column, missing)       \
  if (RequestColumn::column == missing) {                             \
    const bool is_default = record.field == decltype(record){}.field; \
    CHECK_MESSAGE(is_default, #column);                               \
    ++checked;                                                        \
  }
#define PARTITA_DEFAULTED_DECISION(type, field, column, init) \
  PARTITA_DEFAULTED(d, type, field, column, missing_decision)
#define PARTITA_DEFAULTED_OUTCOME(type, field, column, init) \
  PARTITA_DEFAULTED(o, type, field, column, missing_outcome)
    PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_DEFAULTED_DECISION)
    PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_DEFAULTED_OUTCOME)
    CHECK(checked == 2);
    auto list = SelectList(**db, std::vector{RequestColumn::tier, missing_decision}, "q");
    REQUIRE(list.ok());
    CHECK(list->starts_with("q.tier, "));
    CHECK(list->ends_with(" AS " + std::string(last_decision->name)));
  }
  auto db = Database::Open(path);
  REQUIRE(db.ok());
  REQUIRE(CreateRequestLogSchema(**db).ok());
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM pragma_table_info('requests')") ==
        static_cast<std::int64_t>(kRequestColumnCount));
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM requests WHERE " + std::string(last_decision->name) +
                         " = 0 AND " + std::string(last_outcome->name) + " IS NULL") == 1);
}

}  // namespace
}  // namespace partita::storage
