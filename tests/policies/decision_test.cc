#include "policies/decision.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "policies/availability.h"
#include "policies/internal/evaluate.h"
#include "tests/policies/policy_testing.h"

namespace partita::policy {
namespace {

using fixtures::Load;
using fixtures::Model;
using fixtures::PolicyText;
using fixtures::Run;
using fixtures::State;

// Whether a rule with `when` matches `state`.
bool Matches(const std::string& when, const std::string& state) {
  PolicyPtr p = Load(PolicyText("  rules:\n    - name: hit\n      when: " + when +
                                "\n      route: device\n    - {name: miss, route: device}\n"));
  return Run(*p, State(state)).rule_index == 0;
}

TEST_CASE("Numbers: equality and every comparison operator, at the boundaries") {
  CHECK(Matches("{time.hour: 7}", "time: {hour: 7}"));
  CHECK(!Matches("{time.hour: 7}", "time: {hour: 8}"));
  CHECK(Matches("{time.hour: {eq: 7}}", "time: {hour: 7}"));
  CHECK(!Matches("{device.battery_pct: {ne: 50}}", "device: {battery_pct: 50}"));
  CHECK(Matches("{device.battery_pct: {ne: 50}}", "device: {battery_pct: 51}"));
  CHECK(Matches("{device.battery_pct: {lt: 20}}", "device: {battery_pct: 19.9}"));
  CHECK(!Matches("{device.battery_pct: {lt: 20}}", "device: {battery_pct: 20}"));
  CHECK(Matches("{device.battery_pct: {lte: 20}}", "device: {battery_pct: 20}"));
  CHECK(!Matches("{device.battery_pct: {lte: 20}}", "device: {battery_pct: 20.1}"));
  CHECK(!Matches("{request.difficulty: {gt: 0.7}}", "request: {difficulty: 0.7}"));
  CHECK(Matches("{request.difficulty: {gt: 0.7}}", "request: {difficulty: 0.71}"));
  CHECK(Matches("{request.difficulty: {gte: 0.7}}", "request: {difficulty: 0.7}"));
  CHECK(!Matches("{request.difficulty: {gte: 0.7}}", "request: {difficulty: 0.69}"));
  CHECK(Matches("{time.hour: {in: [7, 8]}}", "time: {hour: 8}"));
  CHECK(!Matches("{time.hour: {in: [7, 8]}}", "time: {hour: 9}"));
  CHECK(Matches("{time.hour: {not_in: [7, 8]}}", "time: {hour: 9}"));
  CHECK(!Matches("{time.hour: {not_in: [7, 8]}}", "time: {hour: 7}"));
  CHECK(Matches("{time.hour: {between: [6, 9]}}", "time: {hour: 6}"));
  CHECK(Matches("{time.hour: {between: [6, 9]}}", "time: {hour: 9}"));
  CHECK(!Matches("{time.hour: {between: [6, 9]}}", "time: {hour: 10}"));
  // Several operators on one field are ANDed.
  CHECK(Matches("{request.tokens_in: {gte: 100, lt: 500}}", "request: {tokens_in: 100}"));
  CHECK(!Matches("{request.tokens_in: {gte: 100, lt: 500}}", "request: {tokens_in: 500}"));
  CHECK(Matches("{fleet.cloud_load: {gt: 0.8}}", "fleet: {cloud_load: 0.9}"));
  CHECK(Matches("{fleet.budget_left_usd: {lt: 1}}", "fleet: {budget_left_usd: 0.5}"));
  CHECK(!Matches("{fleet.budget_left_usd: {lt: 1}}", "{}"));  // unlimited by default
  CHECK(Matches("{network.rtt_ms: {gt: 100}}", "network: {rtt_ms: 150}"));
  CHECK(Matches("{request.latency_budget_ms: {between: [1, 800]}}",
                "request: {latency_budget_ms: 500}"));
  CHECK(Matches("{request.max_cost_usd: 0}", "{}"));
  CHECK(Matches("{peer.phone_battery_pct: {lt: 30}}",
                "peer: {phone_available: true, phone_battery_pct: 10}"));
  CHECK(Matches("{device.free_mem_mb: {gte: 1024}}", "device: {free_mem_mb: 2048}"));
  CHECK(Matches("{request.tokens_out: {gt: 500}}", "request: {tokens_out: 600}"));
}

TEST_CASE("Enums, ordered enums and booleans") {
  CHECK(Matches("{network.type: wifi}", "network: {type: wifi}"));
  CHECK(!Matches("{network.type: wifi}", "network: {type: cellular}"));
  CHECK(Matches("{network.type: {ne: wifi}}", "network: {type: cellular}"));
  CHECK(Matches("{network.type: {in: [wifi, ethernet]}}", "network: {type: ethernet}"));
  CHECK(!Matches("{network.type: {in: [wifi, ethernet]}}", "network: {type: offline}"));
  CHECK(Matches("{request.kind: {not_in: [command]}}", "request: {kind: reasoning}"));
  CHECK(!Matches("{request.kind: {not_in: [command]}}", "request: {kind: command}"));
  CHECK(Matches("{device.thermal: {gte: serious}}", "device: {thermal: critical}"));
  CHECK(Matches("{device.thermal: {gte: serious}}", "device: {thermal: serious}"));
  CHECK(!Matches("{device.thermal: {gte: serious}}", "device: {thermal: fair}"));
  CHECK(Matches("{device.thermal: {lt: serious}}", "device: {thermal: fair}"));
  CHECK(Matches("{device.thermal: {between: [fair, serious]}}", "device: {thermal: fair}"));
  CHECK(!Matches("{device.thermal: {between: [fair, serious]}}", "device: {thermal: critical}"));
  CHECK(Matches("{request.privacy: {lt: private}}", "request: {privacy: normal}"));
  CHECK(!Matches("{request.privacy: {lt: private}}", "request: {privacy: private}"));
  CHECK(Matches("{request.privacy: {gt: public}}", "request: {privacy: normal}"));
  CHECK(Matches("{device.charging: false}", "device: {charging: false}"));
  CHECK(!Matches("{device.charging: false}", "device: {charging: true}"));
  CHECK(Matches("{device.charging: {ne: true}}", "device: {charging: false}"));
  CHECK(Matches("{network.metered: true}", "network: {metered: true}"));
  CHECK(Matches("{fleet.cloud_healthy: false}", "fleet: {cloud_healthy: false}"));
  CHECK(Matches("{peer.phone_available: true}", "peer: {phone_available: true}"));
}

TEST_CASE("Profiles, classes, device ids and model sets") {
  CHECK(Matches("{device.profile: phone-mid}", "device: {profile: phone-mid}"));
  CHECK(!Matches("{device.profile: phone-mid}", "device: {profile: phone-flagship}"));
  CHECK(Matches("{device.profile: {in: [car, watch]}}", "device: {profile: watch}"));
  // device.class covers every profile of that class.
  CHECK(Matches("{device.class: phone}", "device: {profile: phone-flagship}"));
  CHECK(Matches("{device.class: phone}", "device: {profile: phone-mid}"));
  CHECK(!Matches("{device.class: phone}", "device: {profile: smart-speaker}"));
  CHECK(Matches("{device.class: {ne: phone}}", "device: {profile: car}"));
  CHECK(Matches("{device.id: kitchen}", "device: {id: kitchen}"));
  CHECK(!Matches("{device.id: kitchen}", "device: {id: kitchen-2}"));
  CHECK(Matches("{device.id: {in: [a, b]}}", "device: {id: b}"));
  CHECK(Matches("{device.id: {not_in: [a, b]}}", "device: {id: c}"));
  CHECK(Matches("{device.id: {ne: a}}", "device: {id: c}"));
  CHECK(Matches("{device.models: {contains: milm-1.3b}}", "{}"));  // the speaker's default
  CHECK(!Matches("{device.models: {contains: milm-1.3b}}", "device: {models: []}"));
  CHECK(!Matches("{device.models: {contains: [milm-1.3b, milm-7b-moe]}}",
                 "device: {profile: phone-mid, models: [milm-1.3b]}"));
  CHECK(Matches("{device.models: {contains: [milm-1.3b, milm-7b-moe]}}",
                "device: {profile: phone-mid}"));
  CHECK(Matches("{device.models_warm: {contains: milm-7b-moe}}",
                "device: {profile: phone-mid, models_warm: [milm-7b-moe]}"));
  CHECK(Matches("{peer.phone_models: {contains: milm-7b-moe}}", "peer: {phone_available: true}"));
}

TEST_CASE("Combinators all, any and not, nested") {
  const std::string when =
      "{any: [{request.difficulty: {gte: 0.7}}, {request.kind: reasoning}], "
      "not: {network.type: offline}}";
  CHECK(Matches(when, "request: {difficulty: 0.9}"));
  CHECK(Matches(when, "request: {kind: reasoning, difficulty: 0.1}"));
  CHECK(!Matches(when, "request: {difficulty: 0.1}"));
  CHECK(!Matches(when, "request: {difficulty: 0.9}\nnetwork: {type: offline}"));
  const std::string all = "{all: [{time.hour: {gte: 22}}, {device.charging: true}]}";
  CHECK(Matches(all, "time: {hour: 23}"));
  CHECK(!Matches(all, "time: {hour: 23}\ndevice: {charging: false}"));
  CHECK(Matches("{not: {not: {time.hour: 3}}}", "time: {hour: 3}"));
  CHECK(Matches("{any: [{all: [{time.hour: 1}, {device.charging: true}]}, {time.hour: 2}]}",
                "time: {hour: 2}\ndevice: {charging: false}"));
  CHECK(Matches("{}", "{}"));  // no conditions: always
}

// ---- guards ---------------------------------------------------------------------------------

// A policy that lint rejects: it routes private requests to the cloud and falls back there.
constexpr const char* kGuardViolating = R"(  guards:
    - name: private-stays-home
      when: {request.privacy: private}
      never: [cloud]
  defaults: {fallback: [cloud, phone, device]}
  rules:
    - name: leak
      when: {request.privacy: private}
      route: cloud
      fallback: [cloud, cloud, phone, device]
    - name: everything
      route: best
)";

TEST_CASE("Guards are enforced when deciding, even for a policy lint would reject") {
  PolicyPtr p = Load(PolicyText(kGuardViolating));
  DecisionResult r = Run(*p, State("request: {privacy: private}\npeer: {phone_available: true}"));
  REQUIRE(r.ok);
  CHECK(r.rule_index == 0);
  CHECK(r.route.tier == Tier::kPhone);
  CHECK(r.guards_applied == 1u);
  REQUIRE(r.fallback_count == 1);
  CHECK(r.fallback[0].tier == Tier::kDevice);
  REQUIRE(r.candidate_count >= 1);
  CHECK(r.candidates[0].route.tier == Tier::kCloud);
  CHECK(r.candidates[0].exclusion == Exclusion::kGuard);

  // A normal request is not covered: the guard does not apply and cloud is fine.
  DecisionResult normal = Run(*p, State("request: {privacy: normal}"));
  CHECK(normal.guards_applied == 0u);
  CHECK(normal.route.tier == Tier::kCloud);
}

TEST_CASE("Regression: no decision for a guarded request ever names the forbidden tier") {
  PolicyPtr p = Load(PolicyText(kGuardViolating));
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> coin(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  const char* profiles[] = {"smart-speaker", "phone-mid", "phone-flagship", "car", "watch"};
  const char* networks[] = {"offline", "wifi", "cellular", "ethernet"};
  int decided = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string state =
        "device: {profile: " + std::string(profiles[rng() % 5]) +
        ", battery_pct: " + std::to_string(int(unit(rng) * 100)) +
        ", charging: " + (coin(rng) ? "true" : "false") +
        "}\nnetwork: {type: " + networks[rng() % 4] +
        "}\nrequest: {privacy: private, difficulty: " + std::to_string(unit(rng)) +
        "}\nfleet: {cloud_healthy: " + (coin(rng) ? "true" : "false") +
        "}\npeer: {phone_available: " + (coin(rng) ? "true" : "false") + "}\n";
    DecisionResult r = Run(*p, State(state));
    CHECK((r.guards_applied & 1u) == 1u);
    if (r.ok) {
      ++decided;
      CHECK(r.route.tier != Tier::kCloud);
    }
    for (std::size_t k = 0; k < r.fallback_count; ++k) CHECK(r.fallback[k].tier != Tier::kCloud);
  }
  CHECK(decided > 100);  // the property was exercised on real decisions
}

TEST_CASE("A guard that forbids every tier leaves the request undecided, with reasons") {
  PolicyPtr p = Load(PolicyText(R"(  guards:
    - {name: nothing-at-night, when: {time.hour: {lt: 6}}, never: [device, phone, cloud]}
  defaults: {fallback: [cloud, phone, device]}
  rules:
    - {name: all, route: best}
)"));
  DecisionResult r = Run(*p, State("time: {hour: 3}\npeer: {phone_available: true}"));
  CHECK(!r.ok);
  CHECK(r.rule_index == 0);
  CHECK(r.fallback_count == 0);
  REQUIRE(r.candidate_count > 0);
  for (std::size_t i = 0; i < r.candidate_count; ++i) {
    CHECK(r.candidates[i].exclusion == Exclusion::kGuard);
  }
  CHECK(Run(*p, State("time: {hour: 9}")).ok);
}

// ---- fallback -------------------------------------------------------------------------------

constexpr const char* kFallbackPolicy = R"(  defaults:
    fallback: [cloud, phone, device]
    models: {phone: [milm-7b-moe, milm-1.3b], cloud: milm-70b-moe}
  rules:
    - name: to-cloud
      when: {request.kind: reasoning}
      route: cloud
    - name: to-phone-then-device
      when: {request.kind: command}
      route: phone
      fallback: [device]
    - name: nowhere-else
      when: {time.hour: 0}
      route: cloud
      fallback: []
    - {name: rest, route: device}
)";

TEST_CASE("An unavailable route walks the fallback chain in order") {
  PolicyPtr p = Load(PolicyText(kFallbackPolicy));
  // Cloud down, no phone: cloud -> (phone unavailable) -> device.
  DecisionResult r = Run(*p, State("request: {kind: reasoning}\nfleet: {cloud_healthy: false}"));
  REQUIRE(r.ok);
  CHECK(r.rule_index == 0);
  CHECK(r.route == Route{Tier::kDevice, Model("milm-1.3b")});
  CHECK(r.fallback_count == 0);
  REQUIRE(r.candidate_count == 3);
  CHECK(r.candidates[0].route.tier == Tier::kCloud);
  CHECK(r.candidates[0].exclusion == Exclusion::kUnavailable);
  CHECK(r.candidates[1].route.tier == Tier::kPhone);
  CHECK(r.candidates[1].exclusion == Exclusion::kUnavailable);
  CHECK(r.candidates[2].route.tier == Tier::kDevice);
  CHECK(r.candidates[2].exclusion == Exclusion::kNone);

  // Everything up: cloud, then the rest of the chain becomes the fallback, in order.
  DecisionResult up = Run(*p, State("request: {kind: reasoning}\npeer: {phone_available: true}"));
  CHECK(up.route == Route{Tier::kCloud, Model("milm-70b-moe")});
  REQUIRE(up.fallback_count == 2);
  CHECK(up.fallback[0] == Route{Tier::kPhone, Model("milm-7b-moe")});
  CHECK(up.fallback[1] == Route{Tier::kDevice, Model("milm-1.3b")});
}

TEST_CASE("A rule's own fallback replaces the defaults, an empty one means none") {
  PolicyPtr p = Load(PolicyText(kFallbackPolicy));
  DecisionResult r = Run(*p, State("request: {kind: command}"));  // no phone
  REQUIRE(r.ok);
  CHECK(r.rule_index == 1);
  CHECK(r.route.tier == Tier::kDevice);
  DecisionResult none = Run(*p, State("time: {hour: 0}\nnetwork: {type: offline}"));
  CHECK(!none.ok);
  CHECK(none.rule_index == 2);
  CHECK(none.fallback_count == 0);
}

TEST_CASE("Fallback entries use defaults.models in order of preference") {
  PolicyPtr p = Load(PolicyText(kFallbackPolicy));
  DecisionResult r = Run(*p, State("request: {kind: reasoning}\n"
                                   "peer: {phone_available: true, phone_models: [milm-1.3b]}"));
  REQUIRE(r.fallback_count >= 1);
  CHECK(r.fallback[0] == Route{Tier::kPhone, Model("milm-1.3b")});
}

TEST_CASE("Without defaults.models a tier runs its best-quality available model") {
  PolicyPtr p =
      Load(PolicyText("  rules:\n    - {name: c, route: cloud}\n"
                      "    - {name: p, route: phone}\n"));
  // gpt-4o-mini has the highest quality score the cloud serves.
  CHECK(Run(*p, State("{}")).route == Route{Tier::kCloud, Model("gpt-4o-mini")});
  PolicyPtr phone = Load(PolicyText("  rules:\n    - {name: p, route: phone}\n"));
  CHECK(Run(*phone, State("peer: {phone_available: true}")).route ==
        Route{Tier::kPhone, Model("milm-7b-moe")});
  CHECK(Run(*phone, State("peer: {phone_available: true, phone_models: [milm-1.3b]}")).route ==
        Route{Tier::kPhone, Model("milm-1.3b")});
}

TEST_CASE("A rule's model list picks the first available model") {
  PolicyPtr p = Load(PolicyText(R"(  rules:
    - name: phone
      route: phone
      model: [milm-7b-moe, milm-1.3b]
)"));
  CHECK(Run(*p, State("peer: {phone_available: true, phone_models: [milm-1.3b]}")).route ==
        Route{Tier::kPhone, Model("milm-1.3b")});
  CHECK(Run(*p, State("peer: {phone_available: true}")).route ==
        Route{Tier::kPhone, Model("milm-7b-moe")});
}

TEST_CASE("No rule matched: defaults.route, else the defaults' fallback chain, else nothing") {
  PolicyPtr with_route = Load(PolicyText(R"(  defaults: {route: cloud, deadline_ms: 3000}
  rules:
    - {name: only-at-night, when: {time.hour: 3}, route: device}
)"));
  DecisionResult r = Run(*with_route, State("{}"));
  CHECK(r.rule_index == -1);
  CHECK(r.ok);
  CHECK(r.route.tier == Tier::kCloud);
  CHECK(r.deadline_ms == 3000);

  PolicyPtr chain = Load(PolicyText(R"(  defaults: {fallback: [phone, device]}
  rules:
    - {name: only-at-night, when: {time.hour: 3}, route: cloud}
)"));
  DecisionResult c = Run(*chain, State("{}"));
  CHECK(c.rule_index == -1);
  CHECK(c.route.tier == Tier::kDevice);

  PolicyPtr nothing = Load(PolicyText(R"(  rules:
    - {name: only-at-night, when: {time.hour: 3}, route: cloud}
)"));
  DecisionResult n = Run(*nothing, State("{}"));
  CHECK(!n.ok);
  CHECK(n.rule_index == -1);
  CHECK(n.candidate_count == 0);
}

// ---- availability ---------------------------------------------------------------------------

TEST_CASE("Availability: offline, unhealthy cloud, phone, installed models and memory") {
  PolicyPtr p = Load(PolicyText("  rules:\n    - {name: all, route: device}\n"));
  auto check = [&](const std::string& state, Route route) {
    return CheckAvailability(*p, State(state).Input(), route);
  };
  const Route cloud{Tier::kCloud, Model("milm-70b-moe")};
  const Route phone{Tier::kPhone, Model("milm-7b-moe")};
  const Route device{Tier::kDevice, Model("milm-1.3b")};
  CHECK(check("{}", cloud) == Availability::kAvailable);
  CHECK(check("network: {type: offline}", cloud) == Availability::kOffline);
  CHECK(check("network: {type: offline}\npeer: {phone_available: true}", phone) ==
        Availability::kOffline);
  CHECK(check("network: {type: offline}", device) == Availability::kAvailable);
  CHECK(check("fleet: {cloud_healthy: false}", cloud) == Availability::kCloudUnhealthy);
  CHECK(check("{}", Route{Tier::kCloud, Model("milm-1.3b")}) == Availability::kNotServedByCloud);
  CHECK(check("{}", phone) == Availability::kNoPhone);
  CHECK(check("peer: {phone_available: true}", phone) == Availability::kAvailable);
  CHECK(check("peer: {phone_available: true, phone_profile: smart-speaker}", phone) ==
        Availability::kPhoneRefusesOffload);
  CHECK(check("peer: {phone_available: true, phone_models: [milm-1.3b]}", phone) ==
        Availability::kNotInstalled);
  CHECK(check("device: {models: []}", device) == Availability::kNotInstalled);
  CHECK(check("device: {profile: watch}", device) == Availability::kProfileCannotRun);
  // Memory: milm-7b-moe needs 4100 MiB unless it is already loaded.
  const Route moe_on_phone{Tier::kDevice, Model("milm-7b-moe")};
  CHECK(check("device: {profile: phone-mid, free_mem_mb: 2000}", moe_on_phone) ==
        Availability::kNotEnoughMemory);
  CHECK(check("device: {profile: phone-mid, free_mem_mb: 2000, models_warm: [milm-7b-moe]}",
              moe_on_phone) == Availability::kAvailable);
  CHECK(check("device: {profile: phone-mid, free_mem_mb: 0}", moe_on_phone) ==
        Availability::kAvailable);  // 0 = unknown
  // milm-1.3b is resident on phones: never refused for memory.
  CHECK(check("device: {profile: phone-mid, free_mem_mb: 100}",
              Route{Tier::kDevice, Model("milm-1.3b")}) == Availability::kAvailable);
}

// ---- route: best ----------------------------------------------------------------------------

std::string BestPolicy(const std::string& objective, const std::string& require = "",
                       const std::string& fallback = "[device]") {
  return PolicyText("  objective: " + objective +
                    "\n  rules:\n    - name: best\n      route: best\n" +
                    (require.empty() ? "" : "      require: " + require + "\n") +
                    "      fallback: " + fallback + "\n");
}

// The allowed candidate with the lowest score (what route: best must choose).
Route ArgMin(const DecisionResult& r) {
  Route best;
  double score = 0;
  bool found = false;
  for (std::size_t i = 0; i < r.candidate_count; ++i) {
    const Candidate& c = r.candidates[i];
    if (c.exclusion != Exclusion::kNone && c.exclusion != Exclusion::kNotBest) continue;
    if (!found || c.score < score) {
      best = c.route;
      score = c.score;
      found = true;
    }
  }
  return best;
}

TEST_CASE("route: best picks the objective's minimum among allowed candidates") {
  PolicyPtr p = Load(BestPolicy("{latency_ms: 1}"));
  DecisionResult r = Run(*p, State("{}"));
  REQUIRE(r.ok);
  // Smart speaker, no phone: the device's 1.3B at 12 tok/s loses to the cloud's 7B MoE.
  CHECK(r.route == Route{Tier::kCloud, Model("milm-7b-moe")});
  CHECK(r.route == ArgMin(r));
  CHECK(r.candidate_count == 5);  // device 1.3B and the four cloud models
  for (std::size_t i = 0; i < r.candidate_count; ++i) {
    const Candidate& c = r.candidates[i];
    CHECK(c.score == doctest::Approx(c.prediction.latency_ms));
    if (!(c.route == r.route)) CHECK(c.exclusion == Exclusion::kNotBest);
  }
  CHECK(r.candidates[1].route == r.route);  // device first, then the cloud in catalog order
  CHECK(r.prediction.latency_ms == doctest::Approx(r.candidates[1].prediction.latency_ms));
}

TEST_CASE("route: best weighs cost, energy and quality as the objective says") {
  // Cost dominates: the device's model is the cheapest per token.
  PolicyPtr cheap = Load(BestPolicy("{latency_ms: 0.001, cost_usd: 1e9}"));
  CHECK(Run(*cheap, State("{}")).route == Route{Tier::kDevice, Model("milm-1.3b")});
  // Energy dominates on a phone: computing locally burns the battery, waiting does not.
  PolicyPtr frugal = Load(BestPolicy("{energy_j: 1}"));
  DecisionResult e = Run(*frugal, State("device: {profile: phone-mid, charging: false}"));
  CHECK(e.route.tier == Tier::kCloud);
  CHECK(e.route == ArgMin(e));
  // Quality is a benefit: a large weight picks the best-answering model.
  PolicyPtr smart = Load(BestPolicy("{latency_ms: 0.001, quality: 1e6}"));
  CHECK(Run(*smart, State("{}")).route == Route{Tier::kCloud, Model("gpt-4o-mini")});
}

TEST_CASE("route: best honours require, then falls back when nothing meets it") {
  PolicyPtr p = Load(BestPolicy("{latency_ms: 1}", "{quality: {gte: 0.93}}"));
  DecisionResult r = Run(*p, State("request: {difficulty: 0.5}"));
  REQUIRE(r.ok);
  // Only gpt-4o-mini answers a medium question with quality >= 0.93.
  CHECK(r.route == Route{Tier::kCloud, Model("gpt-4o-mini")});
  for (std::size_t i = 0; i < r.candidate_count; ++i) {
    const Candidate& c = r.candidates[i];
    if (c.prediction.quality < 0.93) CHECK(c.exclusion == Exclusion::kRequirement);
  }
  // Nothing reaches 0.99: the fallback chain (require does not apply there) decides.
  PolicyPtr strict = Load(BestPolicy("{latency_ms: 1}", "{quality: {gte: 0.99}}"));
  DecisionResult f = Run(*strict, State("{}"));
  REQUIRE(f.ok);
  CHECK(f.route.tier == Tier::kDevice);
  PolicyPtr no_fallback = Load(BestPolicy("{latency_ms: 1}", "{quality: {gte: 0.99}}", "[]"));
  CHECK(!Run(*no_fallback, State("{}")).ok);
  // Latency and cost requirements.
  PolicyPtr fast = Load(BestPolicy("{cost_usd: 1}", "{latency_ms: {lt: 1500}}"));
  DecisionResult l = Run(*fast, State("{}"));
  REQUIRE(l.ok);
  CHECK(l.prediction.latency_ms < 1500);
}

TEST_CASE("route: best respects request.max_cost_usd and fleet.budget_left_usd") {
  PolicyPtr p = Load(BestPolicy("{latency_ms: 0.001, quality: 1e6}"));
  // gpt-4o-mini costs 9e-5 USD for 200 in + 100 out; a 1e-5 cap excludes it.
  DecisionResult capped = Run(*p, State("request: {max_cost_usd: 0.00001}"));
  REQUIRE(capped.ok);
  CHECK(capped.route == Route{Tier::kCloud, Model("milm-70b-moe")});
  bool saw_budget = false;
  for (std::size_t i = 0; i < capped.candidate_count; ++i) {
    const Candidate& c = capped.candidates[i];
    if (c.prediction.cost_usd > 0.00001) {
      CHECK(c.exclusion == Exclusion::kBudget);
      saw_budget = true;
    }
  }
  CHECK(saw_budget);
  // No cloud budget left: the cloud is excluded, the device's model still runs.
  DecisionResult broke = Run(*p, State("fleet: {budget_left_usd: 0}"));
  REQUIRE(broke.ok);
  CHECK(broke.route.tier == Tier::kDevice);
}

TEST_CASE("route: best may be limited to some models, guards remove tiers") {
  PolicyPtr p = Load(PolicyText(R"(  guards:
    - {name: no-cloud-when-metered, when: {network.metered: true}, never: [cloud]}
  objective: {latency_ms: 1}
  rules:
    - name: milm-only
      route: best
      model: [milm-1.3b, milm-70b-moe]
)"));
  DecisionResult r = Run(*p, State("{}"));
  CHECK(r.route == Route{Tier::kCloud, Model("milm-70b-moe")});
  CHECK(r.candidate_count == 2);
  DecisionResult metered = Run(*p, State("network: {metered: true}"));
  CHECK(metered.route == Route{Tier::kDevice, Model("milm-1.3b")});
  CHECK(metered.guards_applied == 1u);
}

// ---- deadlines ------------------------------------------------------------------------------

TEST_CASE("Deadline: the rule's, else the defaults', capped by the request's latency budget") {
  PolicyPtr p = Load(PolicyText(R"(  defaults: {deadline_ms: 2000}
  rules:
    - {name: slow, when: {request.kind: reasoning}, route: cloud, deadline_ms: 9000}
    - {name: rest, route: cloud}
)"));
  CHECK(Run(*p, State("{}")).deadline_ms == 2000);
  CHECK(Run(*p, State("request: {kind: reasoning}")).deadline_ms == 9000);
  CHECK(Run(*p, State("request: {kind: reasoning, latency_budget_ms: 1200}")).deadline_ms == 1200);
  CHECK(Run(*p, State("request: {latency_budget_ms: 1200}")).deadline_ms == 1200);
  // A larger budget never extends the policy's deadline.
  CHECK(Run(*p, State("request: {latency_budget_ms: 60000}")).deadline_ms == 2000);
  PolicyPtr bare = Load(PolicyText("  rules:\n    - {name: all, route: device}\n"));
  CHECK(Run(*bare, State("{}")).deadline_ms == 5000);
}

TEST_CASE("A DecisionResult reused across calls holds only the latest decision") {
  PolicyPtr p = Load(PolicyText(kFallbackPolicy));
  DecisionResult r;
  const DecisionState up = State("request: {kind: reasoning}\npeer: {phone_available: true}");
  const DecisionInput in1 = up.Input();
  Decide(*p, in1, r);
  CHECK(r.fallback_count == 2);
  const DecisionState off = State("time: {hour: 0}\nnetwork: {type: offline}");
  const DecisionInput in2 = off.Input();
  Decide(*p, in2, r);
  CHECK(!r.ok);
  CHECK(r.fallback_count == 0);
  CHECK(r.rule_index == 2);
  CHECK(r.guards_applied == 0u);
}

TEST_CASE("Regression: the fast path and the expression tree agree on every rule and guard") {
  std::vector<PolicyPtr> policies;
  for (const char* name :
       {"balanced", "battery-saver", "cost-min", "latency-first", "privacy-first"}) {
    Result<PolicyPtr> p =
        LoadPolicyFile(std::string(PARTITA_SOURCE_DIR) + "/policies/library/" + name + ".yaml");
    REQUIRE_MESSAGE(p.ok(), p.status().message());
    policies.push_back(*p);
  }
  policies.push_back(Load(PolicyText(R"(  guards:
    - {when: {device.thermal: {gte: serious}, network.metered: true}, never: [phone]}
  rules:
    - {name: a, when: {device.class: phone, device.charging: {ne: true}, time.hour: {lt: 7}}, route: cloud}
    - {name: b, when: {device.profile: {in: [car, watch]}, request.kind: {not_in: [chat]}}, route: cloud}
    - {name: c, when: {request.privacy: {between: [normal, private]}, time.hour: {in: [1, 2, 3]}}, route: device}
    - {name: d, when: {device.models: {contains: [milm-1.3b, milm-7b-moe]}, fleet.cloud_load: {gt: 0.5}}, route: device}
    - {name: e, when: {device.id: {not_in: [x, y]}, request.difficulty: {between: [0.2, 0.4]}}, route: device}
    - {name: f, when: {network.type: {ne: offline}, device.battery_pct: {gte: 50, lt: 70}}, route: device}
    - {name: g, route: best}
)")));
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0, 1);
  const char* ids[] = {"x", "y", "z"};
  int checked = 0;
  for (int i = 0; i < 2000; ++i) {
    DecisionInput in;
    in.device.id = ids[rng() % 3];
    in.device.profile = static_cast<DeviceClassIndex>(rng() % 5);
    in.device.battery_pct = std::floor(unit(rng) * 101);
    in.device.charging = rng() % 2;
    in.device.thermal = static_cast<Thermal>(rng() % 4);
    if (rng() % 2) in.device.models.Insert(Model("milm-1.3b"));
    if (rng() % 2) in.device.models.Insert(Model("milm-7b-moe"));
    in.network.type = static_cast<NetworkType>(rng() % 4);
    in.network.metered = rng() % 2;
    in.request.difficulty = std::round(unit(rng) * 10) / 10;
    in.request.privacy = static_cast<Privacy>(rng() % 3);
    in.request.kind = static_cast<RequestKind>(rng() % 3);
    in.fleet.cloud_load = unit(rng);
    in.fleet.budget_left_usd = unit(rng) * 10;
    in.peer.phone_available = rng() % 2;
    in.time.hour = static_cast<int>(rng() % 24);
    internal::FieldValues v;
    v.Gather(in);
    for (const PolicyPtr& p : policies) {
      const internal::Program& prog = p->program();
      for (const internal::Rule& r : prog.rules) {
        CHECK(internal::Evaluate(prog, r.when, v) == internal::EvaluateNode(prog, r.when.root, v));
        ++checked;
      }
      for (const internal::Guard& g : prog.guards) {
        CHECK(internal::Evaluate(prog, g.when, v) == internal::EvaluateNode(prog, g.when.root, v));
      }
    }
  }
  CHECK(checked > 10000);
}

}  // namespace
}  // namespace partita::policy
