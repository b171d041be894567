// Fuzzes the policy loader, lint, Decide and explain on arbitrary text. Invariants: no crash,
// no hang; a rejected policy always comes with an error diagnostic; a loaded policy lints, and
// every decision on it honours its guards (no route and no fallback entry on a tier a guard
// that applied forbids), whatever the input bytes make of the device state.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "policies/decision.h"
#include "policies/explain.h"
#include "policies/lint.h"
#include "policies/loader.h"
#include "policies/state_file.h"

namespace {

partita::policy::DecisionInput InputFrom(const std::uint8_t* data, std::size_t size,
                                         std::size_t salt) {
  auto byte = [&](std::size_t i) -> unsigned {
    return size == 0 ? 0 : data[(i * 31 + salt * 17) % size];
  };
  partita::policy::DecisionInput in;
  in.device.profile = static_cast<partita::DeviceClassIndex>(byte(0) % 6);  // 5 = invalid
  in.device.battery_pct = byte(1) % 101;
  in.device.charging = byte(2) & 1;
  in.device.thermal = static_cast<partita::Thermal>(byte(3) % 4);
  in.device.free_mem_mb = (byte(4) % 4) * 1000;
  in.device.models = {};
  for (unsigned m = 0; m < 5; ++m) {
    if (byte(5) & (1u << m)) in.device.models.Insert(static_cast<partita::ModelIndex>(m));
  }
  in.network.type = static_cast<partita::NetworkType>(byte(6) % 4);
  in.network.rtt_ms = byte(7);
  in.request.tokens_in = byte(8) * 10;
  in.request.tokens_out = byte(9) * 4;
  in.request.difficulty = (byte(10) % 11) / 10.0;
  in.request.privacy = static_cast<partita::Privacy>(byte(11) % 3);
  in.request.kind = static_cast<partita::RequestKind>(byte(12) % 3);
  in.request.latency_budget_ms = (byte(13) % 3) * 700;
  in.request.max_cost_usd = (byte(14) % 3) * 1e-6;
  in.fleet.cloud_healthy = byte(15) & 1;
  in.fleet.cloud_load = (byte(16) % 11) / 10.0;
  in.peer.phone_available = byte(17) & 1;
  in.peer.phone_profile = static_cast<partita::DeviceClassIndex>(byte(18) % 5);
  in.peer.phone_models = in.device.models;
  in.time.hour = static_cast<int>(byte(19) % 24);
  in.device.id = "fuzz";
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  partita::Diagnostics diagnostics("fuzz.yaml");
  partita::policy::PolicyPtr policy = partita::policy::ParsePolicy(text, diagnostics);
  if (!policy) {
    if (!diagnostics.has_errors()) __builtin_trap();
  } else {
    partita::policy::LintLoadedPolicy(*policy, diagnostics);
    const auto& program = policy->program();
    partita::policy::DecisionResult result;
    for (std::size_t salt = 0; salt < 4; ++salt) {
      const partita::policy::DecisionInput in = InputFrom(data, size, salt);
      partita::policy::Decide(*policy, in, result);
      std::uint8_t forbidden = 0;
      for (std::size_t g = 0; g < program.guards.size(); ++g) {
        if (result.guards_applied & (1u << g)) forbidden |= program.guards[g].never;
      }
      auto bit = [](partita::Tier t) { return 1u << static_cast<unsigned>(t); };
      if (result.ok && (forbidden & bit(result.route.tier))) __builtin_trap();
      for (std::size_t k = 0; k < result.fallback_count; ++k) {
        if (forbidden & bit(result.fallback[k].tier)) __builtin_trap();
      }
      if (salt == 0) {
        const partita::policy::Explanation e = partita::policy::Explain(*policy, in);
        (void)partita::policy::ExplanationJson(*policy, in, e);
        (void)partita::policy::ExplanationText(*policy, in, e);
      }
    }
  }
  // The same text as a state file.
  partita::Diagnostics state_diagnostics("state.yaml");
  (void)partita::policy::ParseState(text, *partita::DefaultCatalog(), state_diagnostics);
  for (const auto& d : diagnostics.all()) (void)d.ToString();
  return 0;
}
