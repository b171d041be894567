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
  // false: the tier has no model to show (no phone, or nothing runs there); the row has no
  // model and no predictions, only its status.
  bool has_route = true;
  // true: a row explain added so every tier appears; the matched rule (or the defaults) does
  // not use this tier ("not in rule X's route or fallback" in status).
  bool outside_rule = false;
};

struct Explanation {
  DecisionResult result;
  // The policy's lint errors ("FILE:LINE:COL: error: ..."), in file order: a policy with any
  // is one the router would refuse (policy_store.h), though it still decides as shown.
  std::vector<std::string> lint_errors;
  std::vector<GuardTrace> guards;
  std::vector<RuleTrace> rules;
  std::vector<CandidateTrace> candidates;
  std::array<std::string, kTierCount> tiers;  // what each tier looks like for this input
};

// Decides and traces. Besides Decide()'s candidates, every tier gets at least one row: a tier
// the decision did not consider shows its best available model and predictions (or why it is
// unavailable), marked when the matched rule's route and fallback do not include it.
Explanation Explain(const Policy& policy, const DecisionInput& input);

// The human report `partita policy explain` prints.
std::string ExplanationText(const Policy& policy, const DecisionInput& input,
                            const Explanation& explanation);

// One JSON object: policy, lint_errors, ok, tier, model, rule, fallback, deadline_ms, guards
// (applied names), prediction, predictions (per candidate: tier, model, latency_ms, ttft_ms,
// cost_usd, energy_j, quality, score, excluded, status), rules (trace) and guard_trace.
// docs/policies.md lists them.
std::string ExplanationJson(const Policy& policy, const DecisionInput& input,
                            const Explanation& explanation);

}  // namespace partita::policy
