// The wording of findings: dominance, tradeoffs against the baseline, attention and data notes.
#include <doctest/doctest.h>

#include <algorithm>

#include "reports/report.h"

namespace partita::reports {
namespace {

RunFigures Figures(const std::string& name, double p95, double cost_per_1k, double wh_per_day,
                   double success, double quality) {
  RunFigures r;
  r.name = name;
  r.info.source = "sim";
  r.info.fleet_name = "city-100k";
  r.info.seed = 1;
  r.info.hours = 24;
  r.requests = r.completed = 100'000;
  r.succeeded = static_cast<std::uint64_t>(success * 100'000);
  r.answered = {50'000, 10'000, r.succeeded - 60'000, 100'000 - r.succeeded};
  r.latency_ms = {r.succeeded, p95 / 2, p95, p95 * 1.5};
  r.success_rate = success;
  r.cost_per_1k_usd = cost_per_1k;
  r.device_days = 1'000;
  r.energy_wh_per_device_day = wh_per_day;
  r.battery_empty_events = 0;
  r.mean_quality = quality;
  return r;
}

std::vector<std::string> Texts(const std::vector<Finding>& findings, Finding::Kind kind) {
  std::vector<std::string> out;
  for (const Finding& f : findings) {
    if (f.kind == kind) out.push_back(f.text);
  }
  return out;
}

std::vector<Finding> Findings(std::vector<RunFigures>& runs) {
  std::vector<std::pair<double, double>> points;
  for (const RunFigures& r : runs) points.emplace_back(*r.cost_per_1k_usd, r.latency_ms.p95);
  const std::vector<std::size_t> frontier = ParetoFrontier(points);
  for (std::size_t i : frontier) runs[i].on_frontier = true;
  return WriteFindings(runs, frontier);
}

TEST_CASE("A tradeoff is stated against the baseline with its gains and its price") {
  std::vector<RunFigures> runs = {Figures("balanced", 800, 1.20, 2.0, 0.99, 0.80),
                                  Figures("battery-saver", 920, 2.00, 1.18, 0.99, 0.80)};
  const std::vector<Finding> findings = Findings(runs);
  const std::vector<std::string> tradeoffs = Texts(findings, Finding::Kind::kTradeoff);
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0] ==
        "battery-saver uses 41% less energy on requests (the batteries fare the same) than "
        "balanced for +120 ms p95 and +$0.80 per 1,000 requests. Worth it where device energy "
        "matters more than latency and cloud spend.");
  CHECK(Texts(findings, Finding::Kind::kDominance).empty());
  const std::vector<std::string> summary = Texts(findings, Finding::Kind::kSummary);
  REQUIRE(summary.size() == 1);
  CHECK(summary[0] ==
        "Fastest at p95: balanced (800 ms). Cheapest: balanced ($1.20 per 1,000 requests). "
        "Least energy on requests: battery-saver (1.18 Wh per device-day). Most requests answered: "
        "a tie (99%). Best answers: a tie (quality 0.80).");
  // Both are on the cost/p95 frontier? No: balanced is cheaper and faster.
  const std::vector<std::string> frontier = Texts(findings, Finding::Kind::kFrontier);
  REQUIRE(frontier.size() == 1);
  CHECK(frontier[0].find("balanced alone is on the Pareto frontier") == 0);
}

TEST_CASE("Dominance is stated when one policy is at least as good everywhere") {
  std::vector<RunFigures> runs = {Figures("balanced", 800, 1.20, 2.0, 0.99, 0.80),
                                  Figures("slow-and-dear", 1700, 2.00, 2.0, 0.99, 0.80)};
  const std::vector<Finding> findings = Findings(runs);
  const std::vector<std::string> dominance = Texts(findings, Finding::Kind::kDominance);
  REQUIRE(dominance.size() == 1);
  CHECK(dominance[0] ==
        "balanced dominates slow-and-dear: it is 900 ms faster at p95 and costs $0.80 less per "
        "1,000 requests, and is as good on every other measure. Prefer balanced to "
        "slow-and-dear.");
  CHECK(Texts(findings, Finding::Kind::kTradeoff).empty());
}

TEST_CASE("Differences within tolerance are ties, not findings") {
  std::vector<RunFigures> runs = {Figures("a", 800, 1.20, 2.0, 0.99, 0.80),
                                  Figures("b", 804, 1.205, 2.01, 0.9905, 0.802)};
  const std::vector<Finding> findings = Findings(runs);
  CHECK(Texts(findings, Finding::Kind::kDominance).empty());
  const std::vector<std::string> tradeoffs = Texts(findings, Finding::Kind::kTradeoff);
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0] == "b and a perform the same within measurement tolerance on every measure.");
}

TEST_CASE("Findings name what needs attention and what the inputs do not record") {
  RunFigures saver = Figures("battery-saver", 900, 2.0, 1.0, 0.97, 0.8);
  saver.battery_empty_events = 12;
  saver.deadline_missed = 2'000;
  saver.fell_back = 6'000;
  saver.fallback_causes = {{"no_first_token", 4'000}, {"refused", 2'000}};
  RunFigures production = Figures("production", 700, 1.0, 0, 0.995, 0.85);
  production.info.source = "router";
  production.device_days.reset();
  production.energy_wh_per_device_day.reset();
  production.battery_empty_events.reset();
  production.requests = production.completed + 42;
  std::vector<RunFigures> runs = {saver, production};
  const std::vector<Finding> findings = Findings(runs);
  const std::vector<std::string> attention = Texts(findings, Finding::Kind::kAttention);
  const auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  CHECK(has(attention,
            "battery-saver let batteries run flat 12 times (12.0 per 1,000 "
            "device-days)."));
  CHECK(has(attention, "battery-saver failed 3% of requests (3,000)."));
  CHECK(has(attention, "battery-saver missed the deadline on 2% of requests (2,000)."));
  CHECK(has(attention,
            "battery-saver fell back to another tier on 6% of requests, mostly after no first "
            "token in time (4%)."));
  const std::vector<std::string> data = Texts(findings, Finding::Kind::kData);
  CHECK(has(data,
            "production: 42 of 100,042 requests have no outcome yet (in flight) and are "
            "left out of the latency, cost, energy and quality figures."));
  CHECK(has(data,
            "production (a router decision log) records no device-days: cost and energy "
            "per device-day, battery levels and battery-empty events are not recorded."));
  // Energy is not compared when one side does not record it: the tradeoff leaves it out.
  const std::vector<std::string> tradeoffs = Texts(findings, Finding::Kind::kDominance);
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0].find("production dominates battery-saver") == 0);
  CHECK(tradeoffs[0].find("energy") == std::string::npos);
}

TEST_CASE(
    "Request energy is put against the total drain, battery life only when batteries differ") {
  // Request energy 0.016 vs 0.0139 Wh per device-day; the devices draw 3.7 Wh a day in all.
  std::vector<RunFigures> runs = {Figures("balanced", 800, 1.20, 0.016, 0.99, 0.80),
                                  Figures("battery-saver", 920, 2.00, 0.0139, 0.99, 0.80)};
  for (RunFigures& r : runs) {
    r.battery.samples = 100;
    r.battery.mean_pct = 79.5;
  }
  runs[0].drain_wh_per_device_day = 3.7;
  runs[1].drain_wh_per_device_day = 3.698;
  std::vector<std::string> tradeoffs = Texts(Findings(runs), Finding::Kind::kTradeoff);
  REQUIRE(tradeoffs.size() == 1);
  // 0.0021 / 3.7 = 0.057% of the drain; same battery figures: no battery-life claim.
  CHECK(tradeoffs[0] ==
        "battery-saver uses 13% less energy on requests (0.002 Wh per device-day, 0.06% of the "
        "devices' total drain; the batteries fare the same) than balanced for +120 ms p95 and "
        "+$0.80 per 1,000 requests. Worth it where device energy matters more than latency and "
        "cloud spend.");
  CHECK(tradeoffs[0].find("battery life") == std::string::npos);

  // Fewer battery-empty events: now the batteries show it.
  runs[0].battery_empty_events = 7;
  runs[1].battery_empty_events = 2;
  tradeoffs = Texts(Findings(runs), Finding::Kind::kTradeoff);
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0].find("(0.002 Wh per device-day, 0.06% of the devices' total drain)") !=
        std::string::npos);
  CHECK(tradeoffs[0].find("Worth it where battery life matters more than latency") !=
        std::string::npos);

  // A higher mean battery level does too; a router log (no metrics) gets no drain context.
  runs[0].battery_empty_events = runs[1].battery_empty_events = 0;
  runs[1].battery.mean_pct = 81.0;
  runs[0].drain_wh_per_device_day.reset();
  tradeoffs = Texts(Findings(runs), Finding::Kind::kTradeoff);
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0].find("battery-saver uses 13% less energy on requests than balanced") == 0);
  CHECK(tradeoffs[0].find("Worth it where battery life") != std::string::npos);
}

TEST_CASE("Battery-empty events of several runs are one sentence, tiny costs still differ") {
  std::vector<RunFigures> runs = {Figures("a", 800, 0.0014, 0.03, 0.99, 0.80),
                                  Figures("b", 700, 0.0026, 0.03, 0.99, 0.80)};
  runs[0].battery_empty_events = 3;
  runs[1].battery_empty_events = 5;
  const std::vector<Finding> findings = Findings(runs);
  const std::vector<std::string> attention = Texts(findings, Finding::Kind::kAttention);
  REQUIRE(attention.size() == 3);  // then "a failed 1% of requests", "b failed ..."
  CHECK(attention[0] ==
        "Batteries ran flat under every policy: a 3 times (3.0 per 1,000 device-days) and b 5 "
        "times (5.0 per 1,000 device-days).");
  const std::vector<std::string> tradeoffs = Texts(findings, Finding::Kind::kTradeoff);
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0] ==
        "b is 100 ms faster at p95 than a for +$0.0012 per 1,000 requests. Worth it where latency "
        "matters more than cloud spend.");
}

TEST_CASE("A replay compares predictions with predictions, never with the measured log") {
  RunFigures logged = Figures("production (as logged)", 3000, 0.5, 1.0, 0.99, 0.80);
  logged.info.source = "router";
  RunFigures baseline = Figures("production (predicted)", 900, 0.5, 1.0, 0.99, 0.80);
  RunFigures replayed = Figures("battery-saver (replayed)", 1100, 0.4, 0.6, 0.99, 0.80);
  baseline.info.source = replayed.info.source = "replay";
  std::vector<RunFigures> runs = {logged, baseline, replayed};
  const std::vector<Finding> f = Findings(runs);
  auto mentions_both = [&](const std::string& a, const std::string& b) {
    return std::any_of(f.begin(), f.end(), [&](const Finding& x) {
      return x.text.find(a) != std::string::npos && x.text.find(b) != std::string::npos;
    });
  };
  CHECK(mentions_both("battery-saver (replayed)", "production (predicted)"));
  CHECK_FALSE(mentions_both("battery-saver (replayed)", "production (as logged)"));
  const std::vector<std::string> data = Texts(f, Finding::Kind::kData);
  CHECK(std::any_of(data.begin(), data.end(), [](const std::string& t) {
    return t.find("compare predictions only with predictions") != std::string::npos;
  }));
}

TEST_CASE("Runs from different worlds are flagged") {
  std::vector<RunFigures> runs = {Figures("a", 800, 1.20, 2.0, 0.99, 0.80),
                                  Figures("b", 900, 1.00, 2.0, 0.99, 0.80)};
  runs[1].info.seed = 2;
  const std::vector<std::string> data = Texts(Findings(runs), Finding::Kind::kData);
  REQUIRE(data.size() == 1);
  CHECK(data[0] ==
        "The simulation runs come from different worlds (city-100k seed 1, 24.0 h and city-100k "
        "seed 2, 24.0 h): their differences mix the policy with the fleet, seed and duration.");
}

TEST_CASE("The Pareto frontier keeps every point no other beats on both cost and latency") {
  // (cost, p95)
  const std::vector<std::pair<double, double>> points = {{1.0, 900}, {2.0, 700},  {1.5, 950},
                                                         {3.0, 700}, {0.5, 2000}, {2.0, 700}};
  // (1.5, 950) loses to (1.0, 900); (3.0, 700) to (2.0, 700); equal points both stay.
  CHECK(ParetoFrontier(points) == std::vector<std::size_t>{4, 0, 1, 5});
  CHECK(ParetoFrontier({}).empty());
  CHECK(ParetoFrontier({{1, 1}}) == std::vector<std::size_t>{0});
}

}  // namespace
}  // namespace partita::reports
