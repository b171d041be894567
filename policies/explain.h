// Explaining one decision: which guards applied, which rules were skipped and why (the first
// condition that was false, with its location and the value it saw), which rule matched, and
// every candidate route with its predictions and why it was or was not chosen.
//
// What `partita policy explain` prints (human text or one JSON object). Explain() runs the
// same Decide() as production and then traces the compiled conditions; it allocates and is
// meant for tools, not the hot path. Reads only the policy: safe from any thread.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "policies/decision.h"
#include "policies/policy.h"

namespace partita::policy {

struct RuleTrace {
  enum class Status { kMatched, kSkipped, kNotEvaluated };
  std::string name;
  Status status = Status::kNotEvaluated;
  // kSkipped: "device.battery_pct < 20 is false (device.battery_pct is 85)".
  std::string reason;
  // kSkipped: where that condition is written; otherwise where the rule starts.
  SourceLocation location;
};

struct GuardTrace {
  std::string name;
  bool applied = false;
  std::string reason;  // "request.privacy == private is true (request.privacy is private)"
  SourceLocation location;
  std::vector<Tier> never;
};

struct CandidateTrace {
  Candidate candidate;
  std::string status;  // "chosen", "fallback 1", "not best", "guard: private-stays-home", ...
};

struct Explanation {
  DecisionResult result;
  std::vector<GuardTrace> guards;
  std::vector<RuleTrace> rules;
  std::vector<CandidateTrace> candidates;
  std::array<std::string, kTierCount> tiers;  // what each tier looks like for this input
};

Explanation Explain(const Policy& policy, const DecisionInput& input);

// The human report `partita policy explain` prints.
std::string ExplanationText(const Policy& policy, const DecisionInput& input,
                            const Explanation& explanation);

// One JSON object: policy, ok, tier, model, rule, fallback, deadline_ms, guards (applied
// names), prediction, predictions (per candidate: tier, model, latency_ms, ttft_ms, cost_usd,
// energy_j, quality, score, status), rules (trace) and guard_trace. docs/policies.md lists them.
std::string ExplanationJson(const Policy& policy, const DecisionInput& input,
                            const Explanation& explanation);

}  // namespace partita::policy
