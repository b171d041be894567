#include "sim/replay.h"

#include <doctest/doctest.h>

#include "policies/loader.h"
#include "storage/request_log.h"
#include "tests/testing/temp_dir.h"

namespace partita::sim {
namespace {

constexpr const char* kCloudFirst = R"(apiVersion: partita/v1
kind: Policy
metadata: {name: cloud-first}
spec:
  guards:
    - {name: private-stays-home, when: {request.privacy: private}, never: [cloud]}
  defaults: {deadline_ms: 6000, fallback: [phone, device]}
  rules:
    - {name: everything-to-cloud, route: cloud}
)";

// A router decision log with three requests decided on the device.
std::string MakeLog(const testing::TempDir& tmp) {
  const std::string path = tmp.File("router.db");
  auto db = storage::Database::Open(path);
  REQUIRE(db.ok());
  REQUIRE(storage::CreateRequestLogSchema(**db).ok());
  storage::RunInfo run;
  run.source = "router";
  run.label = "production";
  run.partita_version = "test";
  REQUIRE(storage::InsertRun(**db, run).ok());
  for (int i = 0; i < 3; ++i) {
    storage::DecisionRecord d;
    d.run_id = run.run_id;
    d.request_id = static_cast<std::uint64_t>(i + 1);
    d.device_id = "speaker";
    d.device_profile = "smart-speaker";
    d.t_ms = 1000 + i;
    d.kind = "chat";
    d.privacy = i == 2 ? "private" : "normal";
    d.tokens_in = 50;
    d.tokens_out = 40;
    d.difficulty = 0.5;
    d.network = i == 1 ? "offline" : "wifi";
    d.thermal = "nominal";
    d.cloud_healthy = true;
    d.tier = Tier::kDevice;
    d.model = "milm-1.3b";
    storage::OutcomeRecord o;
    o.run_id = run.run_id;
    o.request_id = d.request_id;
    o.device_id = d.device_id;
    o.final_tier = Tier::kDevice;
    o.success = true;
    o.total_ms = 3000;
    REQUIRE(storage::UpsertOutcome(**db, o, &d).ok());
  }
  return path;
}

TEST_CASE("Replay re-decides a production log under another policy, with the logged facts") {
  testing::TempDir tmp;
  Diagnostics d("cloud-first.yaml");
  policy::PolicyPtr policy = policy::ParsePolicy(kCloudFirst, d, DefaultCatalog());
  REQUIRE_MESSAGE(policy, d.ToString());
  ReplayOptions o;
  o.log_path = MakeLog(tmp);
  o.policies = {policy};
  o.out_path = tmp.File("replay.db");
  Result<std::vector<ReplaySummary>> r = RunReplay(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].label == "production (as logged)");
  CHECK((*r)[0].requests == 3);
  // Production's own decisions with predicted outcomes: the baseline for the replayed runs.
  CHECK((*r)[1].label == "production (predicted)");
  CHECK((*r)[1].requests == 3);
  CHECK((*r)[1].answered == 3);
  CHECK((*r)[2].label == "cloud-first (replayed)");
  // Request 1 moves to the cloud; request 2 was offline (the cloud is unavailable, so the
  // decision walks its fallback to the device); request 3 is private (the guard keeps it home).
  CHECK((*r)[2].changed == 1);
  CHECK((*r)[2].answered == 3);
  auto db = storage::Database::Open(o.out_path);
  REQUIRE(db.ok());
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM runs") == 3);
  // The predicted baseline runs production's route (the device) with predicted figures, where
  // the log measured 3000 ms.
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM requests WHERE run_id = 2 AND final_tier = "
                         "'device' AND total_ms > 0 AND total_ms != 3000") == 3);
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM requests WHERE run_id = 3 AND request_id = 1 AND "
                         "final_tier = 'cloud' AND total_ms > 0") == 1);
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM requests WHERE run_id = 3 AND request_id = 3 AND "
                         "tier != 'cloud' AND guards = 'private-stays-home'") == 1);
}

TEST_CASE("Replay refuses a file that is not a decision log") {
  testing::TempDir tmp;
  Diagnostics d("cloud-first.yaml");
  ReplayOptions o;
  o.log_path = tmp.Write("junk.db", "not a database at all, just text long enough to fail");
  o.policies = {policy::ParsePolicy(kCloudFirst, d, DefaultCatalog())};
  o.out_path = tmp.File("out.db");
  CHECK_FALSE(RunReplay(o).ok());
}

}  // namespace
}  // namespace partita::sim
