// The simulator end to end: real fleet and policy files through the real loaders, real SQLite
// run databases in a temporary directory.
#include "sim/simulator.h"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "policies/loader.h"
#include "scorer/model.h"
#include "sim/run.h"
#include "sim/run_database.h"
#include "storage/sqlite.h"
#include "tests/testing/temp_dir.h"

namespace partita::sim {
namespace {

constexpr const char* kCloudFirst = R"(apiVersion: partita/v1
kind: Policy
metadata: {name: cloud-first}
spec:
  defaults:
    deadline_ms: 6000
    fallback: [phone, device]
  rules:
    - {name: everything-to-cloud, route: cloud}
)";

constexpr const char* kPhoneFirst = R"(apiVersion: partita/v1
kind: Policy
metadata: {name: phone-first}
spec:
  defaults:
    deadline_ms: 6000
    fallback: [device, cloud]
  rules:
    - {name: everything-to-phone, route: phone}
)";

constexpr const char* kLargeCloud = R"(apiVersion: partita/v1
kind: Policy
metadata: {name: large-cloud}
spec:
  defaults:
    deadline_ms: 6000
    fallback: [phone, device]
  rules:
    - {name: everything-to-the-large-model, route: cloud, model: milm-70b-moe}
)";

policy::PolicyPtr Policy(const char* text) {
  Diagnostics d("policy.yaml");
  policy::PolicyPtr p = policy::ParsePolicy(text, d, DefaultCatalog());
  REQUIRE_MESSAGE(p, d.ToString());
  return p;
}

FleetPtr Fleet(const std::string& path) {
  Result<FleetPtr> f =
      LoadFleetFile(std::string(PARTITA_SOURCE_DIR) + "/" + path, *DefaultCatalog());
  REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  return *f;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::int64_t Count(storage::Database& db, const std::string& sql) {
  Result<std::int64_t> n = db.QueryInt(sql);
  REQUIRE_MESSAGE(n.ok(), (n.status().ToString() + " in " + sql));
  return *n;
}

std::unique_ptr<storage::Database> Open(const std::string& path) {
  auto db = storage::Database::Open(path);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(*db);
}

std::vector<RunSummary> Simulate(const SimulationOptions& options) {
  Result<std::vector<RunSummary>> r = RunSimulation(options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

TEST_CASE("The same inputs and seed give a byte-identical run database, another seed differs") {
  testing::TempDir tmp;
  SimulationOptions o;
  o.fleet = Fleet("sim/fleets/household-100.yaml");
  o.policies = {Policy(kCloudFirst), Policy(kPhoneFirst)};
  o.hours = 6;
  o.seed = 11;
  o.out_path = tmp.File("a.db");
  Simulate(o);
  o.out_path = tmp.File("b.db");
  Simulate(o);
  o.seed = 12;
  o.out_path = tmp.File("c.db");
  Simulate(o);
  const std::string a = ReadBytes(tmp.File("a.db"));
  CHECK(a.size() > 100000);
  CHECK(a == ReadBytes(tmp.File("b.db")));
  CHECK(a != ReadBytes(tmp.File("c.db")));
}

TEST_CASE("Labeled prompts: difficulty from the scorer, answers scored by the matching label") {
  testing::TempDir tmp;
  // 40 prompts: the weak model is right on the even ones, the strong model on all.
  std::string csv = "id,prompt,weak_correct,strong_correct\n";
  for (int i = 0; i < 40; ++i) {
    csv += "q" + std::to_string(i) + ",\"Question " + std::to_string(i * 7919) +
           ": which of the following is true?\nA. one\nB. two\"," + (i % 2 == 0 ? "1" : "0") +
           ",1\n";
  }
  tmp.Write("labeled.csv", csv);
  std::string fleet = ReadBytes(std::string(PARTITA_SOURCE_DIR) + "/sim/fleets/household-100.yaml");
  const std::string chat = "      - kind: chat             # a conversational answer\n";
  const std::size_t at = fleet.find(chat);
  REQUIRE(at != std::string::npos);
  fleet.insert(at + chat.size(),
               "        prompts: {file: labeled.csv, weak_model: milm-7b-moe, "
               "strong_model: milm-70b-moe}\n");
  Result<FleetPtr> labeled = LoadFleetFile(tmp.Write("fleet.yaml", fleet), *DefaultCatalog());
  REQUIRE_MESSAGE(labeled.ok(), labeled.status().ToString());

  SimulationOptions o;
  o.fleet = *labeled;
  o.policies = {Policy(kCloudFirst), Policy(kPhoneFirst), Policy(kLargeCloud)};
  o.hours = 12;
  o.out_path = tmp.File("run.db");
  Simulate(o);
  auto db = Open(o.out_path);
  // Chat requests take their difficulty from the scorer's scores of the 40 prompts.
  const Result<scorer::DifficultyModel>& model = scorer::DifficultyModel::Shipped();
  REQUIRE(model.ok());
  std::set<float> scores;
  for (int i = 0; i < 40; ++i) {
    scores.insert(
        static_cast<float>(model->Score("Question " + std::to_string(i * 7919) +
                                        ": which of the following is true?\nA. one\nB. two")));
  }
  auto rows = db->Prepare("SELECT difficulty FROM requests WHERE kind = 'chat'");
  REQUIRE(rows.ok());
  int chats = 0;
  while (*rows->Step()) {
    ++chats;
    CHECK(scores.count(static_cast<float>(rows->Double(0))) == 1);
  }
  CHECK(chats > 50);
  // The strong model's answers are right, the weak model's right on half; others unscored.
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE final_model = 'milm-70b-moe' AND "
              "kind = 'chat' AND label_correct != 1") == 0);
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE final_model = 'milm-70b-moe' AND "
              "kind = 'chat' AND label_correct = 1") > 20);
  const std::int64_t weak = Count(*db,
                                  "SELECT count(*) FROM requests WHERE final_model = "
                                  "'milm-7b-moe' AND kind = 'chat'");
  const std::int64_t weak_right = Count(*db,
                                        "SELECT count(*) FROM requests WHERE final_model = "
                                        "'milm-7b-moe' AND kind = 'chat' AND label_correct = 1");
  CHECK(weak > 20);
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE final_model = 'milm-7b-moe' AND "
              "kind = 'chat' AND label_correct < 0") == 0);
  CHECK(weak_right > weak / 4);
  CHECK(weak_right < weak * 3 / 4);
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE label_correct >= 0 AND label_model != "
              "CASE final_model WHEN 'milm-70b-moe' THEN 'strong' ELSE 'weak' END") == 0);
  CHECK(Count(*db, "SELECT count(*) FROM requests WHERE label_correct < 0 AND label_model != ''") ==
        0);
  CHECK(Count(*db, "SELECT count(*) FROM requests WHERE kind != 'chat' AND label_correct != -1") ==
        0);
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE final_model NOT IN ('milm-7b-moe', "
              "'milm-70b-moe') AND label_correct != -1") == 0);
}

TEST_CASE("Every policy faces the same world: the same requests, whatever it decides") {
  testing::TempDir tmp;
  SimulationOptions o;
  o.fleet = Fleet("sim/fleets/household-100.yaml");
  o.policies = {Policy(kCloudFirst), Policy(kPhoneFirst)};
  o.hours = 12;
  o.out_path = tmp.File("run.db");
  Simulate(o);
  auto db = Open(o.out_path);
  CHECK(Count(*db, "SELECT count(*) FROM runs") == 2);
  CHECK(Count(*db, "SELECT count(DISTINCT tier) FROM requests WHERE run_id = 1") >= 1);
  // Requests present in both runs carry identical features (devices that ran flat in one run
  // drop their requests there, so compare the intersection, and require it to be most).
  const std::int64_t both =
      Count(*db,
            "SELECT count(*) FROM requests a JOIN requests b ON a.request_id = b.request_id "
            "WHERE a.run_id = 1 AND b.run_id = 2");
  const std::int64_t same = Count(
      *db,
      "SELECT count(*) FROM requests a JOIN requests b ON a.request_id = b.request_id "
      "WHERE a.run_id = 1 AND b.run_id = 2 AND a.device_id = b.device_id AND a.kind = b.kind "
      "AND a.tokens_in = b.tokens_in AND a.difficulty = b.difficulty AND a.privacy = b.privacy "
      "AND a.t_ms = b.t_ms");
  CHECK(both > 200);
  CHECK(same == both);
  CHECK(Count(*db, "SELECT count(*) FROM requests WHERE run_id = 1 AND tier = 'cloud'") >
        Count(*db, "SELECT count(*) FROM requests WHERE run_id = 1") * 9 / 10);
}

TEST_CASE("The household phone serves the phone tier") {
  testing::TempDir tmp;
  SimulationOptions o;
  o.fleet = Fleet("sim/fleets/household-100.yaml");
  o.policies = {Policy(kPhoneFirst)};
  o.hours = 12;
  o.out_path = tmp.File("run.db");
  Simulate(o);
  auto db = Open(o.out_path);
  // Speakers in households with a phone are answered by it...
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE device_profile = 'smart-speaker' AND "
              "household LIKE 'family-%' AND final_tier = 'phone'") > 20);
  // ...lone speakers have no phone: the decision skips the tier and they are answered locally.
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE household LIKE 'speaker-only-%' AND "
              "(tier = 'phone' OR final_tier = 'phone')") == 0);
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE household LIKE 'speaker-only-%' AND "
              "final_tier = 'device' AND success = 1") > 0);
}

TEST_CASE("Cloud outages cause fallbacks of the right kind, inside the outage windows") {
  testing::TempDir tmp;
  SimulationOptions o;
  o.fleet = Fleet("sim/fleets/cloud-outage-1k.yaml");
  o.policies = {Policy(kCloudFirst)};
  o.hours = 24;
  o.out_path = tmp.File("run.db");
  Simulate(o);
  auto db = Open(o.out_path);
  const std::string origin = "1767571200000";
  // 10:00-10:45 refuses; the router learns of it 120 s later and stops sending the cloud
  // requests. 17:00-17:20 hangs: no first token until the agent's timeout, for every request
  // that tries the cloud, since a hanging cloud never looks unhealthy.
  const std::int64_t refused_in = Count(
      *db, "SELECT count(*) FROM requests WHERE fallback_cause = 'refused' AND t_ms >= " + origin +
               " + 36000000 AND t_ms < " + origin + " + 36120000");
  const std::int64_t refused_out =
      Count(*db, "SELECT count(*) FROM requests WHERE fallback_cause = 'refused' AND (t_ms < " +
                     origin + " + 36000000 OR t_ms >= " + origin + " + 36120000)");
  const std::int64_t hung =
      Count(*db,
            "SELECT count(*) FROM requests WHERE fallback_cause = 'no_first_token' AND trail LIKE "
            "'cloud:no_first_token:4000>%' AND t_ms >= " +
                origin + " + 61200000 AND t_ms < " + origin + " + 62400000");
  CHECK(refused_in > 10);
  CHECK(refused_out == 0);
  CHECK(hung > 100);
  // Fallbacks still answer: most requests in the refuse window succeed elsewhere.
  CHECK(Count(*db,
              "SELECT count(*) FROM requests WHERE fallback_cause = 'refused' AND success = 1 "
              "AND final_tier != 'cloud'") > refused_in / 2);
}

TEST_CASE("Battery energy is conserved and request energy matches the rows") {
  FleetPtr fleet = Fleet("sim/fleets/household-100.yaml");
  policy::PolicyPtr policy = Policy(kPhoneFirst);
  testing::TempDir tmp;
  Result<std::unique_ptr<RunDatabase>> db = RunDatabase::Create(tmp.File("run.db"));
  REQUIRE(db.ok());
  storage::RunInfo run;
  run.source = "sim";
  run.label = "t";
  run.partita_version = "test";
  REQUIRE((*db)->BeginRun(run).ok());
  Simulator sim(*fleet, *policy, 5, 48);
  SimulationStats stats = sim.Run(run.run_id, **db);
  REQUIRE((*db)->Finish().ok());
  double requested_wh = 0;
  for (const SimDevice& d : sim.world().devices()) {
    requested_wh += d.work_requested_wh;
    if (d.on_mains) continue;
    const double balance = d.initial_wh + d.charged_wh - d.idle_wh - d.work_wh;
    CHECK(balance == doctest::Approx(d.battery_wh).epsilon(1e-9));
    CHECK(d.battery_wh >= 0);
    CHECK(d.battery_wh <= d.capacity_wh + 1e-9);
  }
  auto check = Open(tmp.File("run.db"));
  Result<storage::Statement> s = check->Prepare("SELECT sum(energy_j) FROM requests");
  REQUIRE(s.ok());
  REQUIRE(*s->Step());
  CHECK(s->Double(0) / 3600.0 == doctest::Approx(requested_wh).epsilon(1e-6));
  CHECK(stats.requests > 1000);
}

TEST_CASE("Devices that run flat drop their requests and count the event") {
  const std::string text = R"(apiVersion: partita/v1
kind: Fleet
metadata: {name: flat}
spec:
  households:
    - {name: h, count: 5, devices: [watch]}
  workload:
    classes:
      - {class: watch, requests_per_day: 200}
    kinds:
      - {kind: chat, share: 1, tokens_out: 50}
  charging:
    - {class: watch, start_pct: 3}
)";
  Diagnostics d("flat.yaml");
  FleetPtr fleet = ParseFleet(text, d, *DefaultCatalog());
  REQUIRE_MESSAGE(fleet, d.ToString());
  NullSink sink;
  const policy::PolicyPtr policy = Policy(kCloudFirst);
  Simulator sim(*fleet, *policy, 1, 24);
  SimulationStats stats = sim.Run(1, sink);
  CHECK(stats.battery_empty_events == 5);
  CHECK(stats.dropped_offline > 100);
  CHECK(stats.requests + stats.dropped_offline > 500);
}

TEST_CASE("The requests table exports to CSV") {
  testing::TempDir tmp;
  SimulationOptions o;
  o.fleet = Fleet("sim/fleets/household-100.yaml");
  o.policies = {Policy(kCloudFirst)};
  o.hours = 2;
  o.out_path = tmp.File("run.db");
  o.csv_path = tmp.File("run.csv");
  std::vector<RunSummary> runs = Simulate(o);
  std::ifstream in(o.csv_path);
  std::string header;
  std::getline(in, header);
  CHECK(header.rfind("run_label,run_id,request_id,device_id,", 0) == 0);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  CHECK(lines == runs[0].stats.requests);
}

}  // namespace
}  // namespace partita::sim
