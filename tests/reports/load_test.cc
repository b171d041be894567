// The figures computed from run databases, checked against arithmetic done by hand on the
// fixtures in tests/reports/fixture.h.
#include <doctest/doctest.h>

#include <filesystem>

#include "reports/report.h"
#include "storage/sqlite.h"
#include "tests/reports/fixture.h"
#include "tests/testing/temp_dir.h"

namespace partita::reports {
namespace {

const RunFigures& Find(const std::vector<RunFigures>& runs, const std::string& name) {
  for (const RunFigures& r : runs) {
    if (r.name == name) return r;
  }
  FAIL("no run named " << name);
  return runs.front();
}

TEST_CASE("Counts, tier mix, percentiles, cost, energy and quality of a simulation run") {
  testing::TempDir tmp;
  const std::string path = tmp.File("runs.db");
  REQUIRE(fixture::WriteRuns(path, {fixture::Balanced(), fixture::BatterySaver()}).ok());
  Result<std::vector<RunFigures>> runs = LoadRuns(path);
  REQUIRE(runs.ok());
  REQUIRE(runs->size() == 2);
  const RunFigures& b = Find(*runs, "balanced");

  CHECK(b.requests == 10);
  CHECK(b.completed == 10);
  CHECK(b.in_flight() == 0);
  CHECK(b.succeeded == 9);
  CHECK(b.answered == std::array<std::uint64_t, kOutcomeSlots>{5, 2, 2, 1});
  // Request 7 was decided for the device and answered by the phone; request 10 for the cloud.
  CHECK(b.decided == std::array<std::uint64_t, kTierCount>{6, 1, 3});
  // Successful latencies 100..900 ms: nearest rank ceil(0.5*9)=5 -> 500, ceil(0.95*9)=9 -> 900.
  CHECK(b.latency_ms.count == 9);
  CHECK(b.latency_ms.p50 == 500);
  CHECK(b.latency_ms.p95 == 900);
  CHECK(b.latency_ms.p99 == 900);
  CHECK(b.tier_latency_ms[0].p50 == 300);  // 100..500, rank 3
  CHECK(b.tier_latency_ms[0].p95 == 500);
  CHECK(b.tier_latency_ms[1].p50 == 600);  // 600, 700: rank 1
  CHECK(b.tier_latency_ms[1].p95 == 700);
  CHECK(b.tier_latency_ms[2].p50 == 800);
  CHECK(b.tier_latency_ms[2].p99 == 900);
  CHECK(b.ttft_ms.p50 == 125);  // total / 4
  CHECK(b.ttft_ms.p95 == 225);
  // Two cloud answers at $0.002 over 10 completed requests.
  CHECK(b.cost_usd == doctest::Approx(0.004));
  CHECK(*b.cost_per_1k_usd == doctest::Approx(0.40));
  CHECK(*b.device_days == 2);
  CHECK(*b.cost_per_device_day_usd == doctest::Approx(0.002));
  // 5 x 36 J + 2 x 72 J = 324 J = 0.09 Wh over 2 device-days.
  CHECK(b.energy_j == doctest::Approx(324));
  CHECK(*b.energy_wh_per_device_day == doctest::Approx(0.045));
  // (5 x 0.6 + 2 x 0.75 + 2 x 0.9) / 9 answered.
  CHECK(*b.mean_quality == doctest::Approx(0.7));
  CHECK(*b.success_rate == doctest::Approx(0.9));
  CHECK(b.fell_back == 2);
  REQUIRE(b.fallback_causes.size() == 2);
  CHECK(b.fallback_causes[0] == std::pair<std::string, std::uint64_t>{"no_first_token", 1});
  CHECK(b.fallback_causes[1] == std::pair<std::string, std::uint64_t>{"refused", 1});
  CHECK(b.guard_hits == 2);
  CHECK(b.deadline_missed == 1);
  CHECK(b.truncated == 0);
  CHECK(*b.battery_empty_events == 3);
  // Hour of day: request i at hour i-1.
  CHECK(b.by_hour[0][0] == 1);
  CHECK(b.by_hour[5][1] == 1);
  CHECK(b.by_hour[8][2] == 1);
  CHECK(b.by_hour[9][kUnanswered] == 1);
  CHECK(b.by_hour[12] == std::array<std::uint64_t, kOutcomeSlots>{});
  // Battery samples 10, 30, 50, 100 in 5% bins.
  CHECK(b.battery.samples == 4);
  CHECK(b.battery.buckets[2] == 1);
  CHECK(b.battery.buckets[6] == 1);
  CHECK(b.battery.buckets[10] == 1);
  CHECK(b.battery.buckets[19] == 1);
  CHECK(b.battery.below_20 == 1);
  CHECK(b.battery.mean_pct == doctest::Approx(47.5));
  // The CDF runs from the fastest answer (1 of 9) to the slowest (all of them).
  REQUIRE(b.latency_cdf.size() == 9);
  CHECK(b.latency_cdf.front().ms == 100);
  CHECK(b.latency_cdf.front().fraction == doctest::Approx(1.0 / 9));
  CHECK(b.latency_cdf[4].ms == 500);
  CHECK(b.latency_cdf[4].fraction == doctest::Approx(5.0 / 9));
  CHECK(b.latency_cdf.back().ms == 900);
  CHECK(b.latency_cdf.back().fraction == 1.0);

  const RunFigures& s = Find(*runs, "battery-saver");
  CHECK(s.latency_ms.p50 == 1000);  // 200..2000, rank 5
  CHECK(s.latency_ms.p95 == 2000);  // rank ceil(9.5) = 10
  CHECK(*s.cost_per_1k_usd == doctest::Approx(2.40));
  CHECK(*s.energy_wh_per_device_day == doctest::Approx(0.01));
  CHECK(*s.mean_quality == doctest::Approx(0.84));
  CHECK(*s.success_rate == 1.0);
  CHECK(*s.battery_empty_events == 0);
}

TEST_CASE(
    "Fell back means more than one attempt, a lone failed attempt is a failure, not a fallback") {
  fixture::Run run;
  run.info.source = "sim";
  run.info.label = "outage";
  fixture::Row ok;
  ok.final_tier = "device";
  ok.total_ms = 100;
  run.rows.push_back(ok);  // one attempt, answered
  fixture::Row rescued = ok;
  rescued.final_tier = "phone";
  rescued.fallback_cause = "stalled";
  rescued.attempts = 2;
  run.rows.push_back(rescued);  // the device stalled, the phone answered: fell back
  fixture::Row lone;
  lone.success = false;
  lone.fallback_cause = "refused";
  lone.attempts = 1;
  run.rows.push_back(lone);  // the only tier refused: nothing to fall back to
  fixture::Row exhausted = lone;
  exhausted.fallback_cause = "no_first_token";
  exhausted.attempts = 3;
  run.rows.push_back(exhausted);  // three tiers tried, none answered: fell back, then failed
  run.metrics = {{"device_days", 2},
                 {"idle_energy_wh", 7.2},
                 {"request_energy_wh", 0.8},
                 {"dropped_offline", 5}};
  testing::TempDir tmp;
  const std::string path = tmp.File("outage.db");
  REQUIRE(fixture::WriteRuns(path, {run}).ok());
  Result<std::vector<RunFigures>> runs = LoadRuns(path);
  REQUIRE(runs.ok());
  const RunFigures& r = runs->front();
  CHECK(r.completed == 4);
  // Three rows have a fallback_cause; two of them had a second attempt.
  CHECK(r.fell_back == 2);
  REQUIRE(r.fallback_causes.size() == 2);
  CHECK(r.fallback_causes[0] == std::pair<std::string, std::uint64_t>{"no_first_token", 1});
  CHECK(r.fallback_causes[1] == std::pair<std::string, std::uint64_t>{"stalled", 1});
  CHECK(r.failed() == 2);
  CHECK(r.failed_single_attempt == 1);
  // (7.2 + 0.8) Wh over 2 device-days; requests dropped while a battery was empty.
  CHECK(*r.drain_wh_per_device_day == doctest::Approx(4.0));
  CHECK(*r.dropped_battery_empty == 5);
}

TEST_CASE("A router log with in-flight rows: outcome figures skip them, the rest is not recorded") {
  testing::TempDir tmp;
  const std::string path = tmp.File("router.db");
  REQUIRE(fixture::WriteRuns(path, {fixture::RouterLog()}).ok());
  Result<std::vector<RunFigures>> runs = LoadRuns(path);
  REQUIRE(runs.ok());
  const RunFigures& r = runs->front();
  CHECK(r.name == "production");
  CHECK(r.requests == 6);
  CHECK(r.completed == 4);
  CHECK(r.in_flight() == 2);
  CHECK(r.decided == std::array<std::uint64_t, kTierCount>{2, 1, 3});
  CHECK(r.answered == std::array<std::uint64_t, kOutcomeSlots>{1, 1, 2, 0});
  CHECK(r.latency_ms.count == 4);
  CHECK(r.latency_ms.p50 == 500);  // 300, 500, 700, 900: rank 2
  CHECK(r.latency_ms.p95 == 900);
  CHECK(*r.cost_per_1k_usd == doctest::Approx(1.50));  // $0.006 over 4 completed
  CHECK(*r.success_rate == 1.0);
  CHECK_FALSE(r.device_days.has_value());
  CHECK_FALSE(r.cost_per_device_day_usd.has_value());
  CHECK_FALSE(r.energy_wh_per_device_day.has_value());
  CHECK_FALSE(r.battery_empty_events.has_value());
  CHECK_FALSE(r.drain_wh_per_device_day.has_value());
  CHECK_FALSE(r.dropped_battery_empty.has_value());
  CHECK(r.battery.samples == 0);
  CHECK(r.by_hour[10] == std::array<std::uint64_t, kOutcomeSlots>{});  // only in-flight rows
}

TEST_CASE("A report leaves no -wal or -shm file beside a run database nobody else has open") {
  testing::TempDir tmp;
  const std::string path = tmp.File("runs.db");
  REQUIRE(fixture::WriteRuns(path, {fixture::Balanced(), fixture::BatterySaver()}).ok());
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));
  const auto before = std::filesystem::file_size(path);
  REQUIRE(LoadRuns(path, 4).ok());  // one connection per scanning thread
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  CHECK_FALSE(std::filesystem::exists(path + "-shm"));
  CHECK(std::filesystem::file_size(path) == before);
  // With the writer still open, the files are its own: they stay, and the report still reads.
  auto writer = storage::Database::Open(path);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Exec("UPDATE runs SET label = label").ok());
  REQUIRE(LoadRuns(path).ok());
  CHECK(std::filesystem::exists(path + "-wal"));
  CHECK(std::filesystem::exists(path + "-shm"));
}

TEST_CASE("Scanning on several threads gives the same figures as one thread") {
  testing::TempDir tmp;
  const std::string path = tmp.File("scale.db");
  fixture::ScaleOptions options;
  options.requests_per_run = 12'000;
  options.devices = 300;
  options.policies = 2;
  REQUIRE(fixture::WriteScaleFixture(path, options).ok());
  Result<std::vector<RunFigures>> one = LoadRuns(path, 1);
  Result<std::vector<RunFigures>> four = LoadRuns(path, 4);
  REQUIRE(one.ok());
  REQUIRE(four.ok());
  REQUIRE(one->size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const RunFigures& a = (*one)[i];
    const RunFigures& b = (*four)[i];
    CHECK(a.requests == 12'000);
    CHECK(a.requests == b.requests);
    CHECK(a.answered == b.answered);
    CHECK(a.by_hour == b.by_hour);
    CHECK(a.latency_ms.p95 == b.latency_ms.p95);
    CHECK(a.tier_latency_ms[2].p99 == b.tier_latency_ms[2].p99);
    CHECK(a.ttft_ms.p50 == b.ttft_ms.p50);
    CHECK(a.fallback_causes == b.fallback_causes);
    CHECK(a.cost_usd == doctest::Approx(b.cost_usd));
    CHECK(a.battery.buckets == b.battery.buckets);
    CHECK(a.battery.samples == 300 / 5 * 3 * 25);  // hourly, 0 h to 24 h
    REQUIRE(a.latency_cdf.size() == b.latency_cdf.size());
    CHECK(a.latency_cdf.back().ms == b.latency_cdf.back().ms);
    for (std::size_t k = 1; k < a.latency_cdf.size(); ++k) {
      CHECK(a.latency_cdf[k - 1].ms < a.latency_cdf[k].ms);
      CHECK(a.latency_cdf[k - 1].fraction < a.latency_cdf[k].fraction);
    }
  }
  // Percentiles agree with SQLite sorting the same rows (nearest rank).
  auto db = storage::Database::Open(path);
  REQUIRE(db.ok());
  const auto nth = [&](const std::string& column, const std::string& where, std::uint64_t count,
                       std::uint64_t permille) {
    const std::uint64_t rank = (permille * count + 999) / 1000;
    auto s = (*db)->Prepare("SELECT " + column + " FROM requests WHERE run_id = 1 AND success = 1" +
                            where + " ORDER BY " + column + " LIMIT 1 OFFSET " +
                            std::to_string(rank - 1));
    REQUIRE(s.ok());
    REQUIRE(*s->Step());
    return static_cast<double>(static_cast<float>(s->Double(0)));
  };
  const RunFigures& r = (*one)[0];
  CHECK(r.latency_ms.count > 4096);  // large enough for the radix sort
  CHECK(r.latency_ms.p50 == nth("total_ms", "", r.latency_ms.count, 500));
  CHECK(r.latency_ms.p99 == nth("total_ms", "", r.latency_ms.count, 990));
  CHECK(r.ttft_ms.p95 == nth("ttft_ms", "", r.ttft_ms.count, 950));
  CHECK(r.tier_latency_ms[2].p95 ==
        nth("total_ms", " AND final_tier = 'cloud'", r.tier_latency_ms[2].count, 950));
}

}  // namespace
}  // namespace partita::reports
