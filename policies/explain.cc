#include "policies/explain.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "policies/availability.h"
#include "policies/internal/evaluate.h"

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

class Json {
 public:
  void Key(std::string_view k) {
    Comma();
    Quoted(k);
    out_ += ':';
    pending_value_ = true;
  }
  void String(std::string_view s) {
    Comma();
    Quoted(s);
  }
  void Number(double v) {
    Comma();
    out_ += std::isfinite(v) ? Num(v) : "null";
  }
  void Bool(bool b) {
    Comma();
    out_ += b ? "true" : "false";
  }
  void Null() {
    Comma();
    out_ += "null";
  }
  void Open(char c) {
    Comma();
    out_ += c;
    first_ = true;
  }
  void Close(char c) {
    out_ += c;
    first_ = false;
  }
  std::string Take() { return std::move(out_); }

 private:
  void Quoted(std::string_view s) {
    out_ += '"';
    for (char ch : s) {
      const unsigned char u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        out_ += '\\';
        out_ += ch;
      } else if (u < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        out_ += buf;
      } else {
        out_ += ch;
      }
    }
    out_ += '"';
  }
  void Comma() {
    if (pending_value_) {
      pending_value_ = false;
      return;
    }
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
  bool pending_value_ = false;
};

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
        case Exclusion::kGuard: {
          t.status = "guard";
          std::string names;
          for (std::size_t g = 0; g < p.guards.size(); ++g) {
            if (((res.guards_applied >> g) & 1u) &&
                (p.guards[g].never & (1u << static_cast<unsigned>(cand.route.tier)))) {
              names += (names.empty() ? ": " : ", ") + p.guard_info[g].name;
            }
          }
          t.status += names;
          break;
        }
        case Exclusion::kUnavailable:
          t.status =
              "unavailable: " + std::string(Describe(CheckAvailability(policy, input, cand.route)));
          break;
        case Exclusion::kRequirement:
          t.status = RequirementFailure(p, res.rule_index, cand.prediction);
          break;
        case Exclusion::kBudget:
          t.status = input.request.max_cost_usd > 0 &&
                             cand.prediction.cost_usd > input.request.max_cost_usd
                         ? "budget: over request.max_cost_usd " + Num(input.request.max_cost_usd)
                         : "budget: over fleet.budget_left_usd " + Num(input.fleet.budget_left_usd);
          break;
        case Exclusion::kNotBest: t.status = "not best"; break;
        case Exclusion::kNone: t.status = "allowed, not used"; break;
      }
    }
    e.candidates.push_back(std::move(t));
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
  std::string out = "policy " + policy.name() + " (version " + policy.version().substr(0, 12) +
                    ")" + (policy.file().empty() ? "" : " from " + policy.file()) + "\n";
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
  if (rows.empty()) out += "  (no candidates)\n";
  return out;
}

std::string ExplanationJson(const Policy& policy, const DecisionInput& input,
                            const Explanation& e) {
  (void)input;
  const Catalog& c = *policy.catalog();
  const DecisionResult& res = e.result;
  Json j;
  j.Open('{');
  j.Key("policy");
  j.Open('{');
  j.Key("name");
  j.String(policy.name());
  j.Key("version");
  j.String(policy.version());
  j.Key("file");
  j.String(policy.file());
  j.Close('}');
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
  j.Open('[');
  for (std::uint8_t k = 0; k < res.fallback_count; ++k) {
    j.Open('{');
    j.Key("tier");
    j.String(Name(res.fallback[k].tier));
    j.Key("model");
    j.String(c.model(res.fallback[k].model).name);
    j.Close('}');
  }
  j.Close(']');
  j.Key("deadline_ms");
  j.Number(res.deadline_ms);
  j.Key("guards");
  j.Open('[');
  for (const GuardTrace& g : e.guards) {
    if (g.applied) j.String(g.name);
  }
  j.Close(']');
  j.Key("prediction");
  if (res.ok) {
    j.Open('{');
    PredictionJson(j, res.prediction);
    j.Close('}');
  } else {
    j.Null();
  }
  j.Key("predictions");
  j.Open('[');
  for (const CandidateTrace& t : e.candidates) {
    j.Open('{');
    j.Key("tier");
    j.String(Name(t.candidate.route.tier));
    j.Key("model");
    j.String(c.model(t.candidate.route.model).name);
    PredictionJson(j, t.candidate.prediction);
    j.Key("score");
    j.Number(t.candidate.score);
    j.Key("excluded");
    if (t.candidate.exclusion == Exclusion::kNone) {
      j.Null();
    } else {
      j.String(Name(t.candidate.exclusion));
    }
    j.Key("status");
    j.String(t.status);
    j.Close('}');
  }
  j.Close(']');
  j.Key("rules");
  j.Open('[');
  for (const RuleTrace& r : e.rules) {
    j.Open('{');
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
    j.Close('}');
  }
  j.Close(']');
  j.Key("guard_trace");
  j.Open('[');
  for (const GuardTrace& g : e.guards) {
    j.Open('{');
    j.Key("name");
    j.String(g.name);
    j.Key("applied");
    j.Bool(g.applied);
    j.Key("never");
    j.Open('[');
    for (Tier t : g.never) j.String(Name(t));
    j.Close(']');
    j.Key("reason");
    j.String(g.reason);
    j.Close('}');
  }
  j.Close(']');
  j.Close('}');
  return j.Take();
}

}  // namespace partita::policy
