#include "storage/request_log.h"

#include <doctest/doctest.h>

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
  d.tier = "device";
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
  o.final_tier = "phone";
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

}  // namespace
}  // namespace partita::storage
