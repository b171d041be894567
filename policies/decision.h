// The decision function: device state + request + fleet context -> where the request runs.
//
// This is the one function the router, the edge agent (offline mode) and the fleet simulator
// call, so production and simulation decide identically. It is pure (no I/O, no clock, no
// randomness) and allocation-free: DecisionInput holds plain values and views, DecisionResult
// holds fixed-capacity arrays, so a caller can reuse one DecisionResult for millions of calls.
// Thread-safe: a compiled Policy is immutable and may be shared by all threads.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/vocabulary.h"
#include "device_profiles/catalog.h"
#include "device_profiles/predictor.h"

namespace partita::policy {

class Policy;

// A set of catalog models, as a bitmask over ModelIndex (a catalog holds at most 64 models).
class ModelSet {
 public:
  static constexpr std::size_t kCapacity = 64;
  constexpr ModelSet() = default;
  constexpr bool Contains(ModelIndex m) const { return m < kCapacity && (bits_ >> m) & 1u; }
  constexpr void Insert(ModelIndex m) {
    if (m < kCapacity) bits_ |= std::uint64_t{1} << m;
  }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr std::uint64_t bits() const { return bits_; }
  constexpr bool operator==(const ModelSet&) const = default;

 private:
  std::uint64_t bits_ = 0;
};

// device.* in policies. Defaults describe a healthy mains-powered device.
struct DeviceFacts {
  std::string_view id;                  // device.id
  DeviceClassIndex profile = 0;         // catalog device class: device.profile and device.class
  double battery_pct = 100;             // device.battery_pct, 0..100
  bool charging = true;                 // device.charging
  Thermal thermal = Thermal::kNominal;  // device.thermal
  double free_mem_mb = 0;               // device.free_mem_mb; 0 = unknown
  ModelSet models;                      // device.models: installed
  ModelSet models_warm;                 // device.models_warm: loaded in memory now
};

// network.* in policies.
struct NetworkFacts {
  NetworkType type = NetworkType::kWifi;
  double rtt_ms = 30;  // to the cloud gateway / router
  bool metered = false;
};

// request.* in policies: computed on the device, without a network call.
struct RequestFacts {
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;  // expected answer tokens (used by the predictor)
  double difficulty = 0.5;       // 0..1
  Privacy privacy = Privacy::kNormal;
  RequestKind kind = RequestKind::kChat;
  std::uint32_t latency_budget_ms = 0;  // 0 = the policy's default deadline
  double max_cost_usd = 0;              // 0 = no limit
};

// fleet.* in policies.
struct FleetFacts {
  bool cloud_healthy = true;
  double cloud_load = 0;  // 0..1
  double budget_left_usd = std::numeric_limits<double>::infinity();
};

// peer.* in policies: the household's phone, as the router (or the simulator) sees it.
struct PeerFacts {
  bool phone_available = false;  // online, admits offloads
  double phone_battery_pct = 0;
  DeviceClassIndex phone_profile = 0;  // meaningful only when phone_available
  Thermal phone_thermal = Thermal::kNominal;
  ModelSet phone_models;
  ModelSet phone_models_warm;
  double phone_rtt_ms = 5;  // asking device <-> phone
};

struct TimeFacts {
  int hour = 12;  // time.hour, local, 0..23
};

struct DecisionInput {
  DeviceFacts device;
  NetworkFacts network;
  RequestFacts request;
  FleetFacts fleet;
  PeerFacts peer;
  TimeFacts time;
};

struct Route {
  Tier tier = Tier::kDevice;
  ModelIndex model = 0;
  bool operator==(const Route&) const = default;
};

// Why a candidate route was not chosen (explain, reports).
enum class Exclusion : std::uint8_t {
  kNone = 0,
  kGuard,        // a guard forbids the tier for this request
  kUnavailable,  // the tier cannot run it (model not installed, phone absent, offline, ...)
  kRequirement,  // the rule's `require` (quality, latency, cost) is not met
  kBudget,       // over request.max_cost_usd or fleet.budget_left_usd
  kNotBest,      // allowed, but another candidate scored better
};

struct Candidate {
  Route route;
  Prediction prediction;
  Exclusion exclusion = Exclusion::kNone;
  double score = 0;  // objective value (lower is better) for every candidate
};

inline constexpr std::size_t kMaxFallback = 4;
inline constexpr std::size_t kMaxCandidates = 16;

struct DecisionResult {
  bool ok = false;  // false: no allowed tier can serve the request (see candidates)
  Route route;
  std::array<Route, kMaxFallback> fallback{};
  std::uint8_t fallback_count = 0;  // guards already applied: never names a forbidden tier
  std::uint32_t deadline_ms = 0;
  std::int32_t rule_index = -1;      // Policy::rule_name(rule_index); -1 = no rule matched
  std::uint32_t guards_applied = 0;  // bit i set: guard i (Policy::guard_name(i)) applied
  Prediction prediction;             // for `route`
  std::array<Candidate, kMaxCandidates> candidates{};
  std::uint8_t candidate_count = 0;  // every (tier, model) considered, with why it lost
};

// The fallback tiers of `result`, comma-separated in order ("phone,cloud"), as logs store them.
std::string FallbackTierList(const DecisionResult& result);

// Decides where the request in `input` runs under `policy`. Never allocates.
void Decide(const Policy& policy, const DecisionInput& input, DecisionResult& out);

}  // namespace partita::policy
