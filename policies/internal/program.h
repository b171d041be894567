// The compiled form of a policy: flat arrays that Decide() walks without allocating.
//
// Internal to partita::policies (decision.cc, explain.cc, lint.cc and the loader read it);
// other components use policy.h, decision.h and explain.h. Conditions are {field, test,
// operand} records; enum, bool, profile and class values are tested as bitmasks, model sets as
// ModelSet bitmasks, strings (device.id only) by equality against interned copies. Expression
// nodes form a tree in one vector; children of all/any are contiguous in `children`.
// Immutable once built; safe to read from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "device_profiles/catalog.h"
#include "policies/decision.h"
#include "policies/internal/fields.h"

namespace partita::policy::internal {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr std::uint32_t kNoNode = std::numeric_limits<std::uint32_t>::max();

// How a condition tests its field's value.
enum class Test : std::uint8_t {
  kRange,    // number in [lo, hi] (ends open when lo_open / hi_open)
  kPoints,   // number equal to one of points[begin, begin + count) (negate: none of them)
  kMaskAny,  // bit of the value set in mask (enums, bools, profiles, classes)
  kMaskAll,  // model set contains every model in mask
  kStrings,  // string equal to one of strings[begin, begin + count) (negate: none of them)
};

struct Condition {
  FieldId field = FieldId::kDeviceId;
  Test test = Test::kRange;
  bool negate = false;
  bool lo_open = false;
  bool hi_open = false;
  std::uint32_t begin = 0;
  std::uint32_t count = 0;
  double lo = -kInf;
  double hi = kInf;
  std::uint64_t mask = 0;
};

// A condition ready to evaluate. Ranges, enum/bool/profile/class masks and model-set
// `contains` share one branch-free test on the field's gathered number x and bits b:
//   lo <= x <= hi  and  ((b ^ flip) & mask) == 0
// (open range ends become closed ones: x < 20 is x <= the largest double below 20; a
// one-of mask M is flip 0, mask ~M; contains M is flip ~0, mask M). Point lists and
// device.id strings take the slow path.
struct FlatCondition {
  enum class Kind : std::uint8_t { kFast, kPoints, kStrings };
  double lo = -kInf;
  double hi = kInf;
  std::uint64_t flip = 0;
  std::uint64_t mask = 0;
  FieldId field = FieldId::kDeviceId;
  Kind kind = Kind::kFast;
  bool negate = false;
  std::uint32_t begin = 0;
  std::uint32_t count = 0;
};

struct ExprNode {
  enum class Op : std::uint8_t { kLeaf, kAll, kAny, kNot };
  Op op = Op::kAll;
  std::uint32_t a = 0;  // kLeaf: condition index; kAll/kAny: first slot in children; kNot: node
  std::uint32_t n = 0;  // kAll/kAny: number of children
};

// Where a node came from and how to print it (explain, lint).
struct NodeInfo {
  SourceLocation location;
  std::string text;  // "device.battery_pct < 20", "any of (...)"
};

enum class RouteKind : std::uint8_t { kNone, kDevice, kPhone, kCloud, kBest };

constexpr RouteKind RouteFor(Tier t) {
  return static_cast<RouteKind>(static_cast<std::uint8_t>(t) + 1);
}
constexpr Tier TierOf(RouteKind r) { return static_cast<Tier>(static_cast<std::uint8_t>(r) - 1); }
constexpr bool IsTier(RouteKind r) {
  return r == RouteKind::kDevice || r == RouteKind::kPhone || r == RouteKind::kCloud;
}

// A predicted quantity a `require` entry or the objective reads.
enum class Metric : std::uint8_t { kQuality, kLatencyMs, kTtftMs, kCostUsd, kEnergyJ };
inline constexpr std::array<std::string_view, 5> kMetricNames = {"quality", "latency_ms", "ttft_ms",
                                                                 "cost_usd", "energy_j"};

double MetricOf(const Prediction& p, Metric m);

struct Requirement {
  Metric metric = Metric::kQuality;
  double lo = -kInf;
  double hi = kInf;
  bool lo_open = false;
  bool hi_open = false;

  bool Holds(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
};

struct Span {
  std::uint32_t begin = 0;
  std::uint32_t count = 0;
};

// What a rule (or `defaults`, when no rule matches) does.
struct Action {
  RouteKind route = RouteKind::kNone;
  Span models;    // into Program::model_lists; empty = defaults.models / best quality
  Span fallback;  // into Program::tier_lists (already resolved: the rule's or the defaults')
  Span require;   // into Program::requirements
  std::uint32_t deadline_ms = 0;
};

// The fast path for the common shape of `when`, a plain AND of conditions. Conditions on
// one-valued small fields (bools and enums) fold into one word: the input's one-hot word
// (FieldValues::onehot) must not have any bit of `forbidden`. The others are copied,
// contiguous, to Program::conjunctions[rest]. `tree` means: evaluate the tree at `root`.
struct Match {
  std::uint32_t root = kNoNode;  // kNoNode: no `when`, matches everything
  bool tree = false;
  std::uint64_t forbidden = 0;
  Span rest;
};

struct Rule {
  Match when;
  Action action;
};

struct Guard {
  Match when;
  std::uint8_t never = 0;  // bit per Tier
};

struct Objective {
  double latency_ms = 1;
  double cost_usd = 0;
  double energy_j = 0;
  double quality = 0;
};

struct RuleInfo {
  std::string name;
  std::string description;
  SourceLocation location;        // the rule's map
  SourceLocation route_location;  // the `route:` value
  SourceLocation model_location;
  SourceLocation when_location;
  bool fallback_inherited = true;  // no `fallback:` of its own (uses defaults.fallback)
  std::vector<SourceLocation> fallback_locations;  // per entry of its own fallback
  bool broken = false;  // partial programs only: its `when` did not compile (see Program)
};

struct GuardInfo {
  std::string name;
  SourceLocation location;
  SourceLocation never_location;
  bool broken = false;  // partial programs only: its `when` or `never` did not compile
};

struct Program {
  // Hot data.
  std::vector<Condition> conditions;
  std::vector<FlatCondition> flat;          // parallel to conditions
  std::vector<FlatCondition> conjunctions;  // Match::rest of every fast-path `when`
  std::vector<double> points;
  std::vector<std::string> strings;
  std::vector<ExprNode> nodes;
  std::vector<std::uint32_t> children;
  std::vector<ModelIndex> model_lists;
  std::vector<Tier> tier_lists;
  std::vector<Requirement> requirements;
  std::vector<Rule> rules;
  std::vector<Guard> guards;
  Action defaults;  // route: defaults.route (kNone when absent)
  bool defaults_has_route = false;
  std::array<Span, kTierCount> default_models{};  // into model_lists
  Objective objective;
  bool has_objective = false;

  // Catalog tables, so the hot path never searches.
  std::size_t model_count = 0;
  std::size_t device_count = 0;
  std::vector<const ModelRuntime*> runtimes;  // [device * model_count + model]; null = cannot run
  std::vector<ModelSet> device_runs;          // per device class: models it has a runtime for
  std::vector<bool> accepts_offload;          // per device class
  std::vector<const ModelRuntime*> cloud_runtimes;  // per model; null = not served
  ModelSet cloud_runs;
  std::vector<ModelIndex> by_quality;  // every model, best quality score first

  // A partial program (loader.h, ParsePartialPolicy) is what compiled of a policy that has
  // errors, so lint can still check the parts that are sound. Never decide with one. The flags
  // say which whole-policy facts are unknown: the rule list (a rule or the list itself did
  // not compile; broken rules keep their name and location), the defaults, the objective.
  bool partial = false;
  bool rules_incomplete = false;
  bool defaults_broken = false;
  bool objective_broken = false;

  // Cold data: names, locations and texts for explain and lint.
  std::vector<NodeInfo> node_info;  // parallel to nodes
  std::vector<RuleInfo> rule_info;  // parallel to rules
  std::vector<GuardInfo> guard_info;
  SourceLocation defaults_location;
  SourceLocation defaults_route_location;
  SourceLocation defaults_fallback_location;
  std::vector<SourceLocation> defaults_fallback_locations;
  SourceLocation rules_location;
  std::vector<std::string> requirement_text;  // parallel to requirements

  const ModelRuntime* RuntimeOn(DeviceClassIndex device, ModelIndex model) const {
    if (device >= device_count || model >= model_count) return nullptr;
    return runtimes[device * model_count + model];
  }
};

}  // namespace partita::policy::internal
