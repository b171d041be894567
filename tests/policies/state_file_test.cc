#include "policies/state_file.h"

#include <doctest/doctest.h>

#include <cmath>

#include "tests/policies/policy_testing.h"
#include "tests/testing/temp_dir.h"

namespace partita::policy {
namespace {

using fixtures::Model;
using fixtures::State;

std::string StateErrors(const std::string& yaml) {
  Diagnostics d("s.yaml");
  CHECK(!ParseState(yaml, *DefaultCatalog(), d).has_value());
  return d.ToString();
}

TEST_CASE("An empty state takes the documented defaults") {
  const CatalogPtr c = DefaultCatalog();
  for (const char* text : {"{}", "", "device:\nnetwork: ~\n"}) {
    const DecisionState s = State(text);
    const DecisionInput in = s.Input();
    CHECK(in.device.id == "device-1");
    CHECK(in.device.profile == *c->FindDevice("smart-speaker"));
    CHECK(in.device.battery_pct == 100);
    CHECK(in.device.charging);
    CHECK(in.device.thermal == Thermal::kNominal);
    CHECK(in.device.free_mem_mb == 0);
    ModelSet speaker;
    speaker.Insert(Model("milm-1.3b"));
    CHECK(in.device.models == speaker);
    CHECK(in.device.models_warm.empty());
    CHECK(in.network.type == NetworkType::kWifi);
    CHECK(in.network.rtt_ms == 30);
    CHECK(!in.network.metered);
    CHECK(in.request.tokens_in == 200);
    CHECK(in.request.tokens_out == 100);
    CHECK(in.request.difficulty == 0.5);
    CHECK(in.request.privacy == Privacy::kNormal);
    CHECK(in.request.kind == RequestKind::kChat);
    CHECK(in.request.latency_budget_ms == 0);
    CHECK(in.request.max_cost_usd == 0);
    CHECK(in.fleet.cloud_healthy);
    CHECK(in.fleet.cloud_load == 0);
    CHECK(std::isinf(in.fleet.budget_left_usd));
    CHECK(!in.peer.phone_available);
    CHECK(in.peer.phone_battery_pct == 100);
    CHECK(in.peer.phone_profile == *c->FindDevice("phone-mid"));
    CHECK(in.peer.phone_models.Contains(Model("milm-7b-moe")));
    CHECK(in.peer.phone_models.Contains(Model("milm-1.3b")));
    CHECK(in.peer.phone_rtt_ms == 5);
    CHECK(in.time.hour == 12);
  }
}

TEST_CASE("Every key of a state file is read") {
  const DecisionState s = State(R"(device:
  id: kitchen
  profile: phone-flagship
  battery_pct: 12.5
  charging: false
  thermal: serious
  free_mem_mb: 3000
  models: [milm-1.3b]
  models_warm: [milm-1.3b]
network: {type: cellular, rtt_ms: 80, metered: true}
request:
  tokens_in: 1200
  tokens_out: 300
  difficulty: 0.8
  privacy: private
  kind: reasoning
  latency_budget_ms: 1500
  max_cost_usd: 0.01
fleet: {cloud_healthy: false, cloud_load: 0.7, budget_left_usd: 12}
peer:
  phone_available: true
  phone_battery_pct: 40
  phone_profile: phone-mid
  phone_thermal: fair
  phone_models: [milm-7b-moe]
  phone_models_warm: [milm-7b-moe]
  phone_rtt_ms: 9
time: {hour: 23}
)");
  const DecisionInput in = s.Input();
  const CatalogPtr c = DefaultCatalog();
  CHECK(in.device.id == "kitchen");
  CHECK(in.device.profile == *c->FindDevice("phone-flagship"));
  CHECK(in.device.battery_pct == 12.5);
  CHECK(!in.device.charging);
  CHECK(in.device.thermal == Thermal::kSerious);
  CHECK(in.device.free_mem_mb == 3000);
  CHECK(in.device.models_warm.Contains(Model("milm-1.3b")));
  CHECK(!in.device.models.Contains(Model("milm-7b-moe")));
  CHECK(in.network.type == NetworkType::kCellular);
  CHECK(in.network.rtt_ms == 80);
  CHECK(in.network.metered);
  CHECK(in.request.tokens_in == 1200);
  CHECK(in.request.tokens_out == 300);
  CHECK(in.request.difficulty == 0.8);
  CHECK(in.request.privacy == Privacy::kPrivate);
  CHECK(in.request.kind == RequestKind::kReasoning);
  CHECK(in.request.latency_budget_ms == 1500);
  CHECK(in.request.max_cost_usd == 0.01);
  CHECK(!in.fleet.cloud_healthy);
  CHECK(in.fleet.cloud_load == 0.7);
  CHECK(in.fleet.budget_left_usd == 12);
  CHECK(in.peer.phone_available);
  CHECK(in.peer.phone_battery_pct == 40);
  CHECK(in.peer.phone_thermal == Thermal::kFair);
  CHECK(!in.peer.phone_models.Contains(Model("milm-1.3b")));
  CHECK(in.peer.phone_models_warm.Contains(Model("milm-7b-moe")));
  CHECK(in.peer.phone_rtt_ms == 9);
  CHECK(in.time.hour == 23);
}

TEST_CASE("device.class picks the first profile of that class and must agree with profile") {
  const CatalogPtr c = DefaultCatalog();
  CHECK(State("device: {class: phone}").input.device.profile == *c->FindDevice("phone-mid"));
  CHECK(State("device: {class: car}").input.device.profile == *c->FindDevice("car"));
  CHECK(State("device: {class: phone, profile: phone-flagship}").input.device.profile ==
        *c->FindDevice("phone-flagship"));
  CHECK(StateErrors("device: {class: speaker, profile: car}") ==
        "s.yaml:1:17: error: class 'speaker' does not match profile 'car', whose class is "
        "'car'; give one of them\n");
}

TEST_CASE("State errors are located") {
  CHECK(StateErrors("devise: {}\n") ==
        "s.yaml:1:1: error: unknown key 'devise' in the state; did you mean 'device'?\n");
  CHECK(StateErrors("device: {battery_pct: 120}\n") ==
        "s.yaml:1:23: error: 'battery_pct' is 120; it must be between 0 and 100\n");
  CHECK(StateErrors("time: {hour: 24}\n") ==
        "s.yaml:1:14: error: 'hour' is 24; it must be between 0 and 23\n");
  CHECK(StateErrors("device: {models: [milm-13b]}\n") ==
        "s.yaml:1:19: error: unknown model 'milm-13b' in 'models'; did you mean 'milm-1.3b'?\n");
  CHECK(StateErrors("peer: {phone_profile: phone-md}\n") ==
        "s.yaml:1:23: error: unknown device profile 'phone-md' for 'phone_profile'; expected "
        "smart-speaker, phone-mid, phone-flagship, car or watch; did you mean 'phone-mid'?\n");
  CHECK(StateErrors("network: {type: wlan}\n") ==
        "s.yaml:1:17: error: unknown value 'wlan' for 'type'; expected offline, wifi, cellular "
        "or ethernet\n");
  CHECK(StateErrors("request: {tokens_in: many}\n") ==
        "s.yaml:1:22: error: expected a whole number for 'tokens_in', got 'many'\n");
  CHECK(StateErrors("[1]").starts_with("s.yaml:1:1: error: expected a map for the state"));
}

TEST_CASE("LoadStateFile reads a file, or says which one is missing") {
  testing::TempDir dir;
  Result<DecisionState> s =
      LoadStateFile(dir.Write("s.yaml", "device: {battery_pct: 5}\n"), *DefaultCatalog());
  REQUIRE(s.ok());
  CHECK(s->input.device.battery_pct == 5);
  Result<DecisionState> missing = LoadStateFile(dir.File("none.yaml"), *DefaultCatalog());
  REQUIRE(!missing.ok());
  CHECK(missing.status().message().find("none.yaml") != std::string::npos);
}

}  // namespace
}  // namespace partita::policy
