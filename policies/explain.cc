#include "policies/explain.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "common/json_writer.h"
#include "policies/availability.h"
#include "policies/internal/evaluate.h"
#include "policies/lint.h"

namespace partita::policy {

namespace {

using internal::ExprNode;
using internal::FieldId;
using internal::FieldValues;
using internal::kNoNode;
using internal::Program;
using internal::ValueType;

std::string Num(double v) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? ptr : buf);
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Models(const Catalog& c, ModelSet set) {
  std::string out = "[";
  bool first = true;
  for (std::size_t m = 0; m < c.models().size() && m < ModelSet::kCapacity; ++m) {
    if (!set.Contains(static_cast<ModelIndex>(m))) continue;
    if (!first) out += ", ";
    out += c.models()[m].name;
    first = false;
  }
  return out + "]";
}

std::string ProfileName(const Catalog& c, DeviceClassIndex i) {
  return i < c.devices().size() ? c.devices()[i].name : "#" + std::to_string(i);
}

// The value a field has in `in`, spelled as a policy would write it.
std::string FieldValueText(const Catalog& c, const DecisionInput& in, FieldId f) {
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  switch (f) {
    case FieldId::kDeviceId: return "'" + std::string(in.device.id) + "'";
    case FieldId::kDeviceClass:
      return in.device.profile < c.devices().size() ? c.devices()[in.device.profile].device_class
                                                    : "unknown";
    case FieldId::kDeviceProfile: return ProfileName(c, in.device.profile);
    case FieldId::kDeviceBatteryPct: return Num(in.device.battery_pct);
    case FieldId::kDeviceCharging: return b(in.device.charging);
    case FieldId::kDeviceThermal: return std::string(Name(in.device.thermal));
    case FieldId::kDeviceFreeMemMb: return Num(in.device.free_mem_mb);
    case FieldId::kDeviceModels: return Models(c, in.device.models);
    case FieldId::kDeviceModelsWarm: return Models(c, in.device.models_warm);
    case FieldId::kNetworkType: return std::string(Name(in.network.type));
    case FieldId::kNetworkRttMs: return Num(in.network.rtt_ms);
    case FieldId::kNetworkMetered: return b(in.network.metered);
    case FieldId::kRequestTokensIn: return std::to_string(in.request.tokens_in);
    case FieldId::kRequestTokensOut: return std::to_string(in.request.tokens_out);
    case FieldId::kRequestDifficulty: return Num(in.request.difficulty);
    case FieldId::kRequestPrivacy: return std::string(Name(in.request.privacy));
    case FieldId::kRequestKind: return std::string(Name(in.request.kind));
    case FieldId::kRequestLatencyBudgetMs: return std::to_string(in.request.latency_budget_ms);
    case FieldId::kRequestMaxCostUsd: return Num(in.request.max_cost_usd);
    case FieldId::kFleetCloudHealthy: return b(in.fleet.cloud_healthy);
    case FieldId::kFleetCloudLoad: return Num(in.fleet.cloud_load);
    case FieldId::kFleetBudgetLeftUsd:
      return std::isinf(in.fleet.budget_left_usd) ? "unlimited" : Num(in.fleet.budget_left_usd);
    case FieldId::kPeerPhoneAvailable: return b(in.peer.phone_available);
    case FieldId::kPeerPhoneBatteryPct: return Num(in.peer.phone_battery_pct);
    case FieldId::kPeerPhoneModels: return Models(c, in.peer.phone_models);
    case FieldId::kTimeHour: return std::to_string(in.time.hour);
  }
  return "?";
}

class Tracer {
 public:
  Tracer(const Policy& policy, const DecisionInput& in)
      : p_(policy.program()), c_(*policy.catalog()), in_(in) {
    values_.Gather(in);
  }

  bool Holds(std::uint32_t node) const { return internal::EvaluateNode(p_, node, values_); }

  // "TEXT is true|false (FIELD is VALUE)" for a node with the given outcome.
  std::string Because(std::uint32_t node, bool outcome) const {
    if (node == kNoNode) return outcome ? "it has no conditions" : "";
    std::string out = "'" + p_.node_info[node].text + "' is " + (outcome ? "true" : "false");
    const ExprNode& n = p_.nodes[node];
    if (n.op == ExprNode::Op::kLeaf) {
      const FieldId f = p_.conditions[n.a].field;
      out +=
          " (" + std::string(internal::Field(f).name) + " is " + FieldValueText(c_, in_, f) + ")";
    }
    return out;
  }

  // The first condition that made `node` false, descending through `all` groups.
  std::uint32_t FirstFailing(std::uint32_t node) const {
    if (node == kNoNode) return node;
    const ExprNode& n = p_.nodes[node];
    if (n.op != ExprNode::Op::kAll) return node;
    for (std::uint32_t i = 0; i < n.n; ++i) {
      const std::uint32_t child = p_.children[n.a + i];
      if (!Holds(child)) return FirstFailing(child);
    }
    return node;
  }

  // The last condition that made `node` true, for guards: a leaf when the node is all-leaf.
  std::string WhyTrue(std::uint32_t node) const {
    if (node == kNoNode) return "it applies to every request";
    return Because(node, true);
  }

  SourceLocation Location(std::uint32_t node) const {
    return node == kNoNode ? SourceLocation{} : p_.node_info[node].location;
  }

 private:
  const Program& p_;
  const Catalog& c_;
  const DecisionInput& in_;
  FieldValues values_;
};

std::string RequirementFailure(const Program& p, std::int32_t rule, const Prediction& pred) {
  if (rule < 0) return "requirement";
  const internal::Span req = p.rules[static_cast<std::size_t>(rule)].action.require;
  for (std::uint32_t i = 0; i < req.count; ++i) {
    const internal::Requirement& r = p.requirements[req.begin + i];
    const double v = internal::MetricOf(pred, r.metric);
    if (!r.Holds(v)) {
      return "requires " + p.requirement_text[req.begin + i] + ", predicted " + Num(v);
    }
  }
  return "requirement";
}

std::string TierSummary(const Policy& policy, const DecisionInput& in, Tier tier) {
  const Catalog& c = *policy.catalog();
  switch (tier) {
    case Tier::kDevice: {
      std::string out = ProfileName(c, in.device.profile);
      if (in.device.profile < c.devices().size()) {
        const DeviceClass& dc = c.device(in.device.profile);
        out += " (" + dc.device_class + ")";
        out += dc.OnMains() ? ", mains powered"
                            : ", battery " + Num(in.device.battery_pct) + "%" +
                                  (in.device.charging ? " charging" : " not charging");
      }
      out += ", thermal " + std::string(Name(in.device.thermal)) + ", models " +
             Models(c, in.device.models);
      return out;
    }
    case Tier::kPhone:
      if (in.network.type == NetworkType::kOffline) return "unreachable: the network is offline";
      if (!in.peer.phone_available) return "no phone available";
      return ProfileName(c, in.peer.phone_profile) + ", battery " + Num(in.peer.phone_battery_pct) +
             "%, thermal " + std::string(Name(in.peer.phone_thermal)) + ", rtt " +
             Num(in.peer.phone_rtt_ms) + " ms, models " + Models(c, in.peer.phone_models);
    case Tier::kCloud:
      if (in.network.type == NetworkType::kOffline) return "unreachable: the network is offline";
      return std::string(in.fleet.cloud_healthy ? "healthy" : "UNHEALTHY") + ", load " +
             Num(in.fleet.cloud_load) + ", " + std::string(Name(in.network.type)) + " rtt " +
             Num(in.network.rtt_ms) + " ms" + (in.network.metered ? " (metered)" : "") +
             ", budget left " +
             (std::isinf(in.fleet.budget_left_usd) ? "unlimited"
                                                   : "$" + Num(in.fleet.budget_left_usd));
  }
  return "";
}

// ---- JSON ----------------------------------------------------------------------------------

using Json = JsonWriter;

void PredictionJson(Json& j, const Prediction& p) {
  j.Key("latency_ms");
  j.Number(p.latency_ms);
  j.Key("ttft_ms");
  j.Number(p.ttft_ms);
  j.Key("cost_usd");
  j.Number(p.cost_usd);
  j.Key("energy_j");
  j.Number(p.energy_j);
  j.Key("quality");
  j.Number(p.quality);
}

std::string Pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string PadLeft(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

std::string Where(const Policy& policy, SourceLocation l) {
  if (l.line <= 0) return "";
  return "[" + (policy.file().empty() ? std::string("policy") : policy.file()) + ":" +
         std::to_string(l.line) + ":" + std::to_string(l.column) + "]";
}

// Tiers the action that decided may use: its route (every tier for route: best) and its
// fallback chain. `rule` is DecisionResult::rule_index (-1: the defaults decided).
std::uint8_t ActionTiers(const Program& p, std::int32_t rule) {
  const internal::Action& a = rule >= 0 && static_cast<std::size_t>(rule) < p.rules.size()
                                  ? p.rules[static_cast<std::size_t>(rule)].action
                                  : p.defaults;
  std::uint8_t bits = 0;
  if (internal::IsTier(a.route)) bits |= 1u << static_cast<unsigned>(internal::TierOf(a.route));
  if (a.route == internal::RouteKind::kBest) bits = 0b111;
  for (std::uint32_t k = 0; k < a.fallback.count; ++k) {
    bits |= 1u << static_cast<unsigned>(p.tier_lists[a.fallback.begin + k]);
  }
  return bits;
}

// Whether the phone tier is unusable whatever the model (offline, no phone, or a phone that
// takes no offloads); `why` says which.
bool PhoneAbsent(const Policy& policy, const DecisionInput& in, Availability& why) {
  if (policy.program().model_count == 0) return false;
  const Availability a = CheckAvailability(policy, in, Route{Tier::kPhone, 0});
  if (a == Availability::kOffline || a == Availability::kNoPhone ||
      a == Availability::kPhoneRefusesOffload) {
    why = a;
    return true;
  }
  return false;
}

double ObjectiveScore(const Program& p, const Prediction& pred) {
  const internal::Objective& o = p.objective;
  return o.latency_ms * pred.latency_ms + o.cost_usd * pred.cost_usd + o.energy_j * pred.energy_j -
         o.quality * pred.quality;
}

// ": NAME, NAME" for the applied guards that forbid `tier`.
std::string GuardNames(const Program& p, std::uint32_t applied, Tier tier) {
  std::string names;
  for (std::size_t g = 0; g < p.guards.size(); ++g) {
    if (((applied >> g) & 1u) && (p.guards[g].never & (1u << static_cast<unsigned>(tier)))) {
      names += (names.empty() ? ": " : ", ") + p.guard_info[g].name;
    }
  }
  return names;
}

std::string BudgetText(const DecisionInput& in, const Prediction& pred) {
  return in.request.max_cost_usd > 0 && pred.cost_usd > in.request.max_cost_usd
             ? "budget: over request.max_cost_usd " + Num(in.request.max_cost_usd)
             : "budget: over fleet.budget_left_usd " + Num(in.fleet.budget_left_usd);
}

// A row for a tier the decision did not consider: the model it would run (defaults.models
// for the tier, else the best-quality model that runs there; the first available one) with
// its predictions, or why the tier is unavailable.
CandidateTrace TierRow(const Policy& policy, const DecisionInput& in, const DecisionResult& res,
                       Tier tier, bool outside_rule) {
  const Program& p = policy.program();
  CandidateTrace t;
  t.outside_rule = outside_rule;
  t.candidate.route.tier = tier;
  Availability why = Availability::kProfileCannotRun;
  bool found = false;
  if (!(tier == Tier::kPhone && PhoneAbsent(policy, in, why))) {
    std::vector<ModelIndex> models;
    const internal::Span defaults = p.default_models[static_cast<std::size_t>(tier)];
    if (defaults.count > 0) {
      for (std::uint32_t i = 0; i < defaults.count; ++i) {
        models.push_back(p.model_lists[defaults.begin + i]);
      }
    } else {
      ModelSet runnable;
      if (tier == Tier::kCloud) {
        runnable = p.cloud_runs;
      } else {
        const DeviceClassIndex d =
            tier == Tier::kDevice ? in.device.profile : in.peer.phone_profile;
        if (d < p.device_runs.size()) runnable = p.device_runs[d];
      }
      for (ModelIndex m : p.by_quality) {
        if (runnable.Contains(m)) models.push_back(m);
      }
    }
    for (ModelIndex m : models) {
      const Availability a = CheckAvailability(policy, in, Route{tier, m});
      if (!found || a == Availability::kAvailable) {
        t.candidate.route.model = m;
        why = a;
        found = true;
      }
      if (a == Availability::kAvailable) break;
    }
  }
  t.has_route = found;
  if (found) {
    t.candidate.prediction = PredictRoute(policy, in, t.candidate.route);
    t.candidate.score = ObjectiveScore(p, t.candidate.prediction);
  }
  const Prediction& pred = t.candidate.prediction;
  const std::string guards = GuardNames(p, res.guards_applied, tier);
  if (!guards.empty()) {
    t.candidate.exclusion = Exclusion::kGuard;
    t.status = "guard" + guards;
  } else if (!found && why == Availability::kProfileCannotRun) {
    t.candidate.exclusion = Exclusion::kUnavailable;
    t.status = "unavailable: no model in the catalog runs there";
  } else if (why != Availability::kAvailable) {
    t.candidate.exclusion = Exclusion::kUnavailable;
    t.status = "unavailable: " + std::string(Describe(why));
  } else if ((in.request.max_cost_usd > 0 && pred.cost_usd > in.request.max_cost_usd) ||
             (tier == Tier::kCloud && pred.cost_usd > in.fleet.budget_left_usd)) {
    t.candidate.exclusion = Exclusion::kBudget;
    t.status = BudgetText(in, pred);
  }
  if (outside_rule) {
    const std::string where = res.rule_index >= 0
                                  ? "not in rule " + std::string(policy.rule_name(res.rule_index)) +
                                        "'s route or fallback"
                                  : std::string("not in defaults.route or defaults.fallback");
    t.status = t.status.empty() ? where : where + "; " + t.status;
  } else if (t.status.empty()) {
    t.status = "allowed, not used";
  }
  return t;
}

}  // namespace

Explanation Explain(const Policy& policy, const DecisionInput& input) {
  Explanation e;
  Decide(policy, input, e.result);
  const Program& p = policy.program();
  Tracer tracer(policy, input);

  for (std::size_t g = 0; g < p.guards.size(); ++g) {
    GuardTrace t;
    t.name = p.guard_info[g].name;
    t.applied = (e.result.guards_applied >> g) & 1u;
    t.location = p.guard_info[g].location;
    for (std::size_t tier = 0; tier < kTierCount; ++tier) {
      if (p.guards[g].never & (1u << tier)) t.never.push_back(static_cast<Tier>(tier));
    }
    const std::uint32_t root = p.guards[g].when.root;
    if (t.applied) {
      t.reason = tracer.WhyTrue(root);
    } else {
      const std::uint32_t failing = tracer.FirstFailing(root);
      t.reason = tracer.Because(failing, false);
      t.location = tracer.Location(failing);
    }
    e.guards.push_back(std::move(t));
  }

  for (std::size_t r = 0; r < p.rules.size(); ++r) {
    RuleTrace t;
    t.name = p.rule_info[r].name;
    t.location = p.rule_info[r].location;
    const std::int32_t matched = e.result.rule_index;
    if (matched == static_cast<std::int32_t>(r)) {
      t.status = RuleTrace::Status::kMatched;
      const std::uint32_t root = p.rules[r].when.root;
      t.reason = root == kNoNode ? "no conditions" : tracer.Because(root, true);
    } else if (matched >= 0 && static_cast<std::size_t>(matched) < r) {
      t.status = RuleTrace::Status::kNotEvaluated;
    } else {
      t.status = RuleTrace::Status::kSkipped;
      const std::uint32_t failing = tracer.FirstFailing(p.rules[r].when.root);
      t.reason = tracer.Because(failing, false);
      t.location = tracer.Location(failing);
    }
    e.rules.push_back(std::move(t));
  }

  const DecisionResult& res = e.result;
  for (std::uint8_t i = 0; i < res.candidate_count; ++i) {
    const Candidate& cand = res.candidates[i];
    CandidateTrace t{cand, ""};
    int fallback_position = -1;
    for (std::uint8_t k = 0; k < res.fallback_count; ++k) {
      if (res.fallback[k] == cand.route) fallback_position = k;
    }
    if (res.ok && cand.route == res.route) {
      t.status = "chosen";
    } else if (fallback_position >= 0) {
      t.status = "fallback " + std::to_string(fallback_position + 1);
    } else {
      switch (cand.exclusion) {
        case Exclusion::kGuard:
          t.status = "guard" + GuardNames(p, res.guards_applied, cand.route.tier);
          break;
        case Exclusion::kUnavailable:
          t.status =
              "unavailable: " + std::string(Describe(CheckAvailability(policy, input, cand.route)));
          break;
        case Exclusion::kRequirement:
          t.status = RequirementFailure(p, res.rule_index, cand.prediction);
          break;
        case Exclusion::kBudget: t.status = BudgetText(input, cand.prediction); break;
        case Exclusion::kNotBest: t.status = "not best"; break;
        case Exclusion::kNone: t.status = "allowed, not used"; break;
      }
    }
    // With no phone there is no model to name or predict for it: Decide() still records the
    // phone entry of a chain (as unavailable), on whatever model it would have tried.
    Availability absent;
    if (cand.route.tier == Tier::kPhone && PhoneAbsent(policy, input, absent)) {
      t.has_route = false;
      t.candidate.prediction = Prediction{};
      t.candidate.score = 0;
    }
    e.candidates.push_back(std::move(t));
  }
  // Every tier appears: those the decision did not consider get their best available model.
  std::uint8_t shown = 0;
  for (const CandidateTrace& t : e.candidates) {
    shown |= 1u << static_cast<unsigned>(t.candidate.route.tier);
  }
  const std::uint8_t used = ActionTiers(p, res.rule_index);
  for (std::size_t t = 0; t < kTierCount; ++t) {
    if (shown & (1u << t)) continue;
    e.candidates.push_back(
        TierRow(policy, input, res, static_cast<Tier>(t), (used & (1u << t)) == 0));
  }
  // What lint says about the policy: the router (PolicyStore) refuses one with errors.
  Diagnostics lint(policy.file().empty() ? std::string("policy") : policy.file());
  LintLoadedPolicy(policy, lint);
  std::vector<Diagnostic> found = lint.all();
  std::stable_sort(found.begin(), found.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.location.line, a.location.column) <
           std::pair(b.location.line, b.location.column);
  });
  for (const Diagnostic& d : found) {
    if (d.severity == Severity::kError) e.lint_errors.push_back(d.ToString());
  }
  for (std::size_t t = 0; t < kTierCount; ++t) {
    e.tiers[t] = TierSummary(policy, input, static_cast<Tier>(t));
  }
  return e;
}

std::string ExplanationText(const Policy& policy, const DecisionInput& input,
                            const Explanation& e) {
  const Catalog& c = *policy.catalog();
  const DecisionResult& res = e.result;
  std::string out;
  if (!e.lint_errors.empty()) {
    for (const std::string& error : e.lint_errors) out += error + "\n";
    out += "the router would refuse this policy (" + std::to_string(e.lint_errors.size()) +
           " lint error" + (e.lint_errors.size() == 1 ? "" : "s") +
           "); it would decide as follows if it served it\n\n";
  }
  out += "policy " + policy.name() + " (version " + policy.version().substr(0, 12) + ")" +
         (policy.file().empty() ? "" : " from " + policy.file()) + "\n";
  out += "request: " + std::to_string(input.request.tokens_in) + " tokens in, " +
         std::to_string(input.request.tokens_out) + " out, difficulty " +
         Num(input.request.difficulty) + ", " + std::string(Name(input.request.privacy)) + " " +
         std::string(Name(input.request.kind));
  if (input.request.latency_budget_ms > 0) {
    out += ", latency budget " + std::to_string(input.request.latency_budget_ms) + " ms";
  }
  if (input.request.max_cost_usd > 0) out += ", max cost $" + Num(input.request.max_cost_usd);
  out += "\n\ntiers:\n";
  for (std::size_t t = 0; t < kTierCount; ++t) {
    out += "  " + Pad(std::string(kTierNames[t]), 7) + e.tiers[t] + "\n";
  }

  out += "\nguards:\n";
  if (e.guards.empty()) out += "  (none)\n";
  for (const GuardTrace& g : e.guards) {
    std::string never;
    for (Tier t : g.never) never += (never.empty() ? "" : ", ") + std::string(Name(t));
    out += "  " + Pad(g.name, 22) +
           (g.applied ? "APPLIED, forbids " + never + ": " : "not applied: ") + g.reason +
           (g.applied ? "" : "  " + Where(policy, g.location)) + "\n";
  }

  out += "\nrules (first match wins):\n";
  std::size_t width = 4;
  for (const RuleTrace& r : e.rules) width = std::max(width, r.name.size() + 2);
  for (std::size_t i = 0; i < e.rules.size(); ++i) {
    const RuleTrace& r = e.rules[i];
    out += "  " + PadLeft(std::to_string(i + 1), 2) + ". " + Pad(r.name, width);
    switch (r.status) {
      case RuleTrace::Status::kMatched: out += "MATCHED: " + r.reason; break;
      case RuleTrace::Status::kSkipped:
        out += "skipped: " + r.reason + "  " + Where(policy, r.location);
        break;
      case RuleTrace::Status::kNotEvaluated: out += "not evaluated"; break;
    }
    out += "\n";
  }
  if (res.rule_index < 0) out += "  no rule matched: the policy's defaults decide\n";

  out += "\ndecision: ";
  if (res.ok) {
    out += std::string(Name(res.route.tier)) + " / " + c.model(res.route.model).name;
  } else {
    out += "NONE: no allowed tier can serve this request (see the candidates)";
  }
  out += "  (rule " + std::string(policy.rule_name(res.rule_index)) + ")\n";
  out += "  deadline: " + std::to_string(res.deadline_ms) + " ms";
  if (input.request.latency_budget_ms > 0) {
    out += " (the smaller of the policy's deadline and the request's latency budget)";
  }
  out += "\n  fallback: ";
  if (res.fallback_count == 0) out += "(none)";
  for (std::uint8_t k = 0; k < res.fallback_count; ++k) {
    out += (k ? ", " : "") + std::string(Name(res.fallback[k].tier)) + " " +
           c.model(res.fallback[k].model).name;
  }
  out += "\n  guards applied: ";
  std::string applied;
  for (const GuardTrace& g : e.guards) {
    if (g.applied) applied += (applied.empty() ? "" : ", ") + g.name;
  }
  out += applied.empty() ? "(none)" : applied;
  out += "\n\npredictions:\n";
  const std::vector<std::string> headers = {"tier",     "model",    "latency_ms", "ttft_ms",
                                            "cost_usd", "energy_j", "quality",    "score"};
  std::vector<std::vector<std::string>> rows;
  for (const CandidateTrace& t : e.candidates) {
    const Prediction& pr = t.candidate.prediction;
    if (!t.has_route) {
      rows.push_back(
          {std::string(Name(t.candidate.route.tier)), "-", "", "", "", "", "", "", t.status});
      continue;
    }
    rows.push_back({std::string(Name(t.candidate.route.tier)),
                    c.model(t.candidate.route.model).name, Fixed(pr.latency_ms, 0),
                    Fixed(pr.ttft_ms, 0), Fixed(pr.cost_usd, 7), Fixed(pr.energy_j, 2),
                    Fixed(pr.quality, 3), Fixed(t.candidate.score, 1), t.status});
  }
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) {
    widths[i] = headers[i].size();
    for (const auto& row : rows) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string line = "  ";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    line += (i < 2 ? Pad(headers[i], widths[i]) : PadLeft(headers[i], widths[i])) + "  ";
  }
  out += line + "status\n";
  for (const auto& row : rows) {
    line = "  ";
    for (std::size_t i = 0; i < headers.size(); ++i) {
      line += (i < 2 ? Pad(row[i], widths[i]) : PadLeft(row[i], widths[i])) + "  ";
    }
    out += line + row.back() + "\n";
  }
  if (rows.empty()) {
    out += "  (no candidates)\n";
    return out;
  }
  // Which quality figures rest on measurements (a fitted curve in the catalog).
  std::string measured;
  bool any_predicted = false;
  for (const CandidateTrace& t : e.candidates) {
    if (!t.has_route) continue;
    const ModelSpec& m = c.model(t.candidate.route.model);
    if (!m.quality_curve) {
      any_predicted = true;
    } else if (measured.find(m.name) == std::string::npos) {
      measured += (measured.empty() ? "" : ", ") + m.name;
    }
  }
  if (measured.empty()) {
    out += "  quality: predicted from each model's benchmark scores (no measured curve)\n";
  } else {
    out += "  quality: measured for " + measured + " (the catalog's quality_curve)" +
           (any_predicted ? "; predicted for the others" : "") + "\n";
  }
  return out;
}

std::string ExplanationJson(const Policy& policy, const DecisionInput& input,
                            const Explanation& e) {
  (void)input;
  const Catalog& c = *policy.catalog();
  const DecisionResult& res = e.result;
  Json j;
  j.BeginObject();
  j.Key("policy");
  j.BeginObject();
  j.Key("name");
  j.String(policy.name());
  j.Key("version");
  j.String(policy.version());
  j.Key("file");
  j.String(policy.file());
  j.EndObject();
  j.Key("lint_errors");
  j.BeginArray();
  for (const std::string& error : e.lint_errors) j.String(error);
  j.EndArray();
  j.Key("ok");
  j.Bool(res.ok);
  j.Key("tier");
  if (res.ok) {
    j.String(Name(res.route.tier));
  } else {
    j.Null();
  }
  j.Key("model");
  if (res.ok) {
    j.String(c.model(res.route.model).name);
  } else {
    j.Null();
  }
  j.Key("rule");
  if (res.rule_index >= 0) {
    j.String(policy.rule_name(res.rule_index));
  } else {
    j.Null();
  }
  j.Key("fallback");
  j.BeginArray();
  for (std::uint8_t k = 0; k < res.fallback_count; ++k) {
    j.BeginObject();
    j.Key("tier");
    j.String(Name(res.fallback[k].tier));
    j.Key("model");
    j.String(c.model(res.fallback[k].model).name);
    j.EndObject();
  }
  j.EndArray();
  j.Key("deadline_ms");
  j.Number(res.deadline_ms);
  j.Key("guards");
  j.BeginArray();
  for (const GuardTrace& g : e.guards) {
    if (g.applied) j.String(g.name);
  }
  j.EndArray();
  j.Key("prediction");
  if (res.ok) {
    j.BeginObject();
    PredictionJson(j, res.prediction);
    j.EndObject();
  } else {
    j.Null();
  }
  j.Key("predictions");
  j.BeginArray();
  for (const CandidateTrace& t : e.candidates) {
    j.BeginObject();
    j.Key("tier");
    j.String(Name(t.candidate.route.tier));
    j.Key("model");
    if (t.has_route) {
      j.String(c.model(t.candidate.route.model).name);
      PredictionJson(j, t.candidate.prediction);
      j.Key("score");
      j.Number(t.candidate.score);
    } else {
      j.Null();
      for (const char* key :
           {"latency_ms", "ttft_ms", "cost_usd", "energy_j", "quality", "score"}) {
        j.Key(key);
        j.Null();
      }
    }
    j.Key("excluded");
    if (t.candidate.exclusion != Exclusion::kNone) {
      j.String(Name(t.candidate.exclusion));
    } else if (t.outside_rule) {
      j.String("not in rule");
    } else {
      j.Null();
    }
    j.Key("status");
    j.String(t.status);
    j.EndObject();
  }
  j.EndArray();
  j.Key("rules");
  j.BeginArray();
  for (const RuleTrace& r : e.rules) {
    j.BeginObject();
    j.Key("name");
    j.String(r.name);
    j.Key("status");
    j.String(r.status == RuleTrace::Status::kMatched   ? "matched"
             : r.status == RuleTrace::Status::kSkipped ? "skipped"
                                                       : "not_evaluated");
    j.Key("reason");
    j.String(r.reason);
    j.Key("line");
    j.Number(r.location.line);
    j.Key("column");
    j.Number(r.location.column);
    j.EndObject();
  }
  j.EndArray();
  j.Key("guard_trace");
  j.BeginArray();
  for (const GuardTrace& g : e.guards) {
    j.BeginObject();
    j.Key("name");
    j.String(g.name);
    j.Key("applied");
    j.Bool(g.applied);
    j.Key("never");
    j.BeginArray();
    for (Tier t : g.never) j.String(Name(t));
    j.EndArray();
    j.Key("reason");
    j.String(g.reason);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return j.Take();
}

}  // namespace partita::policy
