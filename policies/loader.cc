#include "policies/loader.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include "common/did_you_mean.h"
#include "common/hash.h"
#include "common/yaml_reader.h"
#include "common/yaml_tree.h"

namespace partita::policy {

namespace {

using internal::Condition;
using internal::ExprNode;
using internal::FieldId;
using internal::FieldInfo;
using internal::Program;
using internal::RouteKind;
using internal::Span;
using internal::Test;
using internal::ValueType;
using yaml::Node;

constexpr std::uint32_t kDefaultDeadlineMs = 5000;
constexpr std::uint32_t kMaxDeadlineMs = 600'000;
constexpr std::size_t kMaxGuards = 32;
constexpr std::size_t kMaxTextChars = 160;

constexpr std::array<std::string_view, 10> kOperators = {
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "between"};
constexpr std::array<std::string_view, 6> kCompareOperators = {"eq", "lt",  "lte",
                                                               "gt", "gte", "between"};
constexpr std::array<std::string_view, 4> kRouteNames = {"device", "phone", "cloud", "best"};
constexpr std::array<std::string_view, 3> kCombinators = {"all", "any", "not"};

std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "'";
  out += s.size() > kMax ? std::string(s.substr(0, kMax)) + "..." : std::string(s);
  out += "'";
  return out;
}

std::string Clip(std::string s) {
  if (s.size() > kMaxTextChars) {
    s.resize(kMaxTextChars - 3);
    s += "...";
  }
  return s;
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
    if (!ok) return false;
  }
  return true;
}

std::string_view OperatorSymbol(std::string_view op) {
  if (op == "eq") return "==";
  if (op == "ne") return "!=";
  if (op == "lt") return "<";
  if (op == "lte") return "<=";
  if (op == "gt") return ">";
  if (op == "gte") return ">=";
  if (op == "not_in") return "not in";
  return op;
}

// Sets a [lo, hi] interval from a comparison operator and its bound.
void SetBound(std::string_view op, double v, double& lo, double& hi, bool& lo_open, bool& hi_open) {
  if (op == "eq") {
    lo = hi = v;
  } else if (op == "lt") {
    hi = v;
    hi_open = true;
  } else if (op == "lte") {
    hi = v;
  } else if (op == "gt") {
    lo = v;
    lo_open = true;
  } else if (op == "gte") {
    lo = v;
  }
}

class Compiler {
 public:
  Compiler(Diagnostics& d, const Catalog& catalog) : d_(d), catalog_(catalog) {}

  // Fills `meta` and `p_` from the document; false when there were errors.
  bool Compile(const Node& root, Policy::Meta& meta) {
    yaml::MapReader top(root, d_, "the policy",
                        {"apiVersion", "kind", "metadata", "spec", "tests"});
    if (!top.ok()) return false;
    CheckHeader(top);
    if (const Node* m = top.Require("metadata")) {
      yaml::MapReader r(*m, d_, "metadata", {"name", "description", "labels"});
      if (const Node* n = r.Require("name")) {
        if (auto s = yaml::ReadString(*n, d_, "name")) {
          if (!ValidName(*s)) {
            d_.Error(n->location,
                     "policy name " + Quote(*s) + " must be 1-64 letters, digits, '-', '.' or '_'");
          }
          meta.name = *s;
        }
      }
      meta.description = r.String("description", "");
    }
    BuildCatalogTables();
    structured_ = true;
    if (const Node* spec = top.Require("spec")) {
      ReadSpec(*spec);
    } else {
      p_.rules_incomplete = true;
    }
    if (d_.has_errors()) return false;
    Finalize();
    return true;
  }

  // After Compile() failed: completes what did compile as a partial program (for lint).
  // False when not even the document's top level was readable.
  bool FinishPartial() {
    if (!structured_) return false;
    p_.partial = true;
    Finalize();
    return true;
  }

  Program& program() { return p_; }

 private:
  // Builds the evaluation-ready conditions and each `when`'s fast path.
  void Finalize() {
    p_.flat.reserve(p_.conditions.size());
    for (const Condition& c : p_.conditions) {
      using Kind = internal::FlatCondition::Kind;
      internal::FlatCondition f;
      f.field = c.field;
      f.negate = c.negate;
      f.begin = c.begin;
      f.count = c.count;
      switch (c.test) {
        case Test::kRange:
          f.lo = c.lo_open ? std::nextafter(c.lo, internal::kInf) : c.lo;
          f.hi = c.hi_open ? std::nextafter(c.hi, -internal::kInf) : c.hi;
          break;
        case Test::kMaskAny: f.mask = ~c.mask; break;
        case Test::kMaskAll:
          f.flip = ~std::uint64_t{0};
          f.mask = c.mask;
          break;
        case Test::kPoints: f.kind = Kind::kPoints; break;
        case Test::kStrings: f.kind = Kind::kStrings; break;
      }
      p_.flat.push_back(f);
    }
    for (internal::Rule& r : p_.rules) r.when = MatchFor(r.when.root);
    for (internal::Guard& g : p_.guards) g.when = MatchFor(g.when.root);
  }

  // A `when` that is one condition or an AND of conditions skips the tree: bool and enum
  // tests fold into Match::forbidden, the rest are copied to Program::conjunctions.
  internal::Match MatchFor(std::uint32_t root) {
    internal::Match m;
    m.root = root;
    m.rest.begin = static_cast<std::uint32_t>(p_.conjunctions.size());
    if (root == internal::kNoNode) return m;
    std::vector<std::uint32_t> leaves;
    const ExprNode& n = p_.nodes[root];
    if (n.op == ExprNode::Op::kLeaf) {
      leaves.push_back(n.a);
    } else if (n.op == ExprNode::Op::kAll) {
      for (std::uint32_t i = 0; i < n.n; ++i) {
        const ExprNode& child = p_.nodes[p_.children[n.a + i]];
        if (child.op != ExprNode::Op::kLeaf) {
          m.tree = true;
          return m;
        }
        leaves.push_back(child.a);
      }
    } else {
      m.tree = true;
      return m;
    }
    for (std::uint32_t leaf : leaves) {
      const Condition& c = p_.conditions[leaf];
      const int offset = internal::OneHotOffset(c.field);
      if (offset >= 0 && c.test == Test::kMaskAny) {
        const std::size_t values = internal::Field(c.field).names.size();
        const std::uint64_t all = (std::uint64_t{1} << values) - 1;
        m.forbidden |= (all & ~c.mask) << offset;
      } else {
        p_.conjunctions.push_back(p_.flat[leaf]);
        ++m.rest.count;
      }
    }
    return m;
  }

  void CheckHeader(const yaml::MapReader& top) {
    if (const Node* v = top.Require("apiVersion")) {
      if (auto s = yaml::ReadString(*v, d_, "apiVersion"); s && *s != "partita/v1") {
        d_.Error(v->location, "unsupported apiVersion " + Quote(*s) + "; expected partita/v1");
      }
    }
    if (const Node* v = top.Require("kind")) {
      if (auto s = yaml::ReadString(*v, d_, "kind"); s && *s != "Policy") {
        d_.Error(v->location, "kind is " + Quote(*s) + "; a policy file has kind: Policy");
      }
    }
  }

  void BuildCatalogTables() {
    const std::size_t models = catalog_.models().size();
    const std::size_t devices = catalog_.devices().size();
    if (models > ModelSet::kCapacity) {
      d_.Error({}, "the catalog defines " + std::to_string(models) +
                       " models; policies support at most 64");
    }
    if (devices > ModelSet::kCapacity) {
      d_.Error({}, "the catalog defines " + std::to_string(devices) +
                       " device classes; policies support at most 64");
    }
    p_.model_count = models;
    p_.device_count = devices;
    p_.runtimes.assign(models * devices, nullptr);
    p_.device_runs.assign(devices, ModelSet{});
    p_.accepts_offload.assign(devices, false);
    for (std::size_t dev = 0; dev < devices; ++dev) {
      const DeviceClass& dc = catalog_.device(static_cast<DeviceClassIndex>(dev));
      p_.accepts_offload[dev] = dc.accepts_offload;
      for (const ModelRuntime& rt : dc.runtimes) {
        if (rt.model >= models) continue;
        p_.runtimes[dev * models + rt.model] = &rt;
        p_.device_runs[dev].Insert(rt.model);
      }
    }
    p_.cloud_runtimes.assign(models, nullptr);
    for (const ModelRuntime& rt : catalog_.cloud().runtimes) {
      if (rt.model >= models) continue;
      p_.cloud_runtimes[rt.model] = &rt;
      p_.cloud_runs.Insert(rt.model);
    }
    for (std::size_t m = 0; m < models; ++m) p_.by_quality.push_back(static_cast<ModelIndex>(m));
    std::stable_sort(p_.by_quality.begin(), p_.by_quality.end(), [&](ModelIndex a, ModelIndex b) {
      return catalog_.model(a).QualityScore() > catalog_.model(b).QualityScore();
    });
  }

  void ReadSpec(const Node& spec) {
    std::size_t errors = d_.error_count();
    yaml::MapReader r(spec, d_, "spec", {"guards", "defaults", "objective", "rules"});
    // A misspelt key ('rulez') leaves the rules or defaults unknown, not absent.
    if (!r.ok() || d_.error_count() > errors) {
      p_.rules_incomplete = true;
      p_.defaults_broken = true;
      if (!r.ok()) return;
    }
    errors = d_.error_count();
    ReadDefaults(r.Get("defaults"));
    p_.defaults_broken = p_.defaults_broken || d_.error_count() > errors;
    if (const Node* g = r.Get("guards")) ReadGuards(*g);
    errors = d_.error_count();
    if (const Node* o = r.Get("objective")) ReadObjective(*o);
    p_.objective_broken = d_.error_count() > errors;
    p_.rules_location = spec.location;
    for (const auto& [key, value] : spec.entries) {
      if (key.scalar == "rules") p_.rules_location = key.location;
    }
    if (const Node* rules = r.Get("rules")) ReadRules(*rules);
  }

  // ---- defaults, guards, objective -------------------------------------------------------

  void ReadDefaults(const Node* node) {
    p_.defaults.deadline_ms = kDefaultDeadlineMs;
    if (node == nullptr) return;
    p_.defaults_location = node->location;
    yaml::MapReader r(*node, d_, "defaults", {"deadline_ms", "fallback", "models", "route"});
    if (!r.ok()) return;
    if (const Node* v = r.Get("deadline_ms")) {
      if (auto ms = ReadDeadline(*v)) p_.defaults.deadline_ms = *ms;
    }
    if (const Node* v = r.Get("models")) ReadDefaultModels(*v);
    if (const Node* v = r.Get("fallback")) {
      p_.defaults_fallback_location = v->location;
      p_.defaults.fallback = ReadTierList(*v, "fallback", &p_.defaults_fallback_locations);
    }
    if (const Node* v = r.Get("route")) {
      p_.defaults_route_location = v->location;
      if (auto route = ReadRoute(*v)) {
        p_.defaults.route = *route;
        p_.defaults_has_route = true;
      }
    }
  }

  void ReadDefaultModels(const Node& node) {
    yaml::MapReader r(node, d_, "defaults.models", {"device", "phone", "cloud"});
    if (!r.ok()) return;
    for (std::size_t t = 0; t < kTierCount; ++t) {
      const Node* v = r.Get(kTierNames[t]);
      if (v == nullptr) continue;
      std::vector<ModelIndex> models;
      if (!ReadModels(*v, "defaults.models." + std::string(kTierNames[t]), models)) continue;
      for (std::size_t i = 0; i < models.size(); ++i) {
        CheckTierRuns(static_cast<Tier>(t), models[i], ItemLocation(*v, i));
      }
      p_.default_models[t] = AppendModels(models);
    }
  }

  void ReadGuards(const Node& list) {
    if (!list.IsSequence()) {
      d_.Error(list.location,
               "expected a list of guards for 'guards', got " + std::string(list.KindName()));
      return;
    }
    if (list.items.size() > kMaxGuards) {
      d_.Error(list.location,
               "a policy has at most 32 guards; this one has " + std::to_string(list.items.size()));
      return;
    }
    for (std::size_t i = 0; i < list.items.size(); ++i) {
      const Node& g = list.items[i];
      const std::string what = "guard " + std::to_string(i + 1);
      const std::size_t errors = d_.error_count();
      yaml::MapReader r(g, d_, what, {"name", "description", "when", "never"});
      if (!r.ok()) continue;
      internal::Guard guard;
      internal::GuardInfo info;
      info.location = g.location;
      info.name = "guard-" + std::to_string(i + 1);
      if (const Node* n = r.Get("name")) {
        if (auto s = yaml::ReadString(*n, d_, "name")) {
          if (!ValidName(*s)) {
            d_.Error(n->location,
                     "guard name " + Quote(*s) + " must be 1-64 letters, digits, '-', '.' or '_'");
          }
          info.name = *s;
        }
      }
      if (const Node* w = r.Get("when")) {
        if (auto root = CompileMap(*w, "the guard's 'when'")) guard.when.root = *root;
      }
      if (const Node* never = r.Require("never")) {
        info.never_location = never->location;
        std::vector<SourceLocation> locations;
        Span tiers = ReadTierList(*never, "never", &locations);
        for (std::uint32_t k = 0; k < tiers.count; ++k) {
          guard.never |= static_cast<std::uint8_t>(
              1u << static_cast<unsigned>(p_.tier_lists[tiers.begin + k]));
        }
        if (never->IsSequence() && never->items.empty()) {
          d_.Error(never->location, "'never' lists no tier; name the tiers this guard forbids");
        }
      }
      info.broken = d_.error_count() > errors;
      p_.guards.push_back(guard);
      p_.guard_info.push_back(std::move(info));
    }
  }

  void ReadObjective(const Node& node) {
    yaml::MapReader r(node, d_, "objective", {"latency_ms", "cost_usd", "energy_j", "quality"});
    if (!r.ok()) return;
    p_.has_objective = true;
    constexpr double kMax = 1e12;
    p_.objective.latency_ms = r.DoubleIn("latency_ms", 0, 0, kMax);
    p_.objective.cost_usd = r.DoubleIn("cost_usd", 0, 0, kMax);
    p_.objective.energy_j = r.DoubleIn("energy_j", 0, 0, kMax);
    p_.objective.quality = r.DoubleIn("quality", 0, 0, kMax);
  }

  // ---- rules -----------------------------------------------------------------------------

  void ReadRules(const Node& list) {
    if (!list.IsSequence()) {
      d_.Error(list.location,
               "expected a list of rules for 'rules', got " + std::string(list.KindName()));
      p_.rules_incomplete = true;
      return;
    }
    for (std::size_t i = 0; i < list.items.size(); ++i) ReadRule(list.items[i], i);
  }

  void ReadRule(const Node& node, std::size_t index) {
    const std::string what = "rule " + std::to_string(index + 1);
    const std::size_t map_errors = d_.error_count();
    yaml::MapReader r(
        node, d_, what,
        {"name", "description", "when", "route", "model", "fallback", "deadline_ms", "require"});
    if (!r.ok()) {
      p_.rules_incomplete = true;
      return;
    }
    internal::Rule rule;
    internal::RuleInfo info;
    // A misspelt key ('whn') leaves the rule's conditions unknown.
    if (d_.error_count() > map_errors) {
      info.broken = true;
      p_.rules_incomplete = true;
    }
    info.location = node.location;
    info.name = "rule-" + std::to_string(index + 1);
    if (const Node* n = r.Require("name")) {
      if (auto s = yaml::ReadString(*n, d_, "name")) {
        if (!ValidName(*s)) {
          d_.Error(n->location,
                   "rule name " + Quote(*s) + " must be 1-64 letters, digits, '-', '.' or '_'");
        }
        info.name = *s;
      }
    }
    info.description = r.String("description", "");
    if (const Node* w = r.Get("when")) {
      info.when_location = w->location;
      const std::size_t errors = d_.error_count();
      if (auto root = CompileMap(*w, "'when' of rule '" + info.name + "'")) rule.when.root = *root;
      if (d_.error_count() > errors) {
        info.broken = true;
        p_.rules_incomplete = true;
      }
    }
    if (const Node* v = r.Require("route")) {
      info.route_location = v->location;
      if (auto route = ReadRoute(*v)) rule.action.route = *route;
    }
    if (const Node* v = r.Get("model")) {
      info.model_location = v->location;
      std::vector<ModelIndex> models;
      if (ReadModels(*v, "model", models)) {
        for (std::size_t i = 0; i < models.size(); ++i) {
          const SourceLocation where = ItemLocation(*v, i);
          if (internal::IsTier(rule.action.route)) {
            CheckTierRuns(internal::TierOf(rule.action.route), models[i], where);
          } else if (rule.action.route == RouteKind::kBest) {
            bool any = false;
            for (std::size_t t = 0; t < kTierCount; ++t) {
              any = any || TierRuns(static_cast<Tier>(t), models[i]);
            }
            if (!any) {
              d_.Error(where, "model '" + catalog_.model(models[i]).name +
                                  "' runs on no tier: no device class or cloud runtime serves it");
            }
          }
        }
        rule.action.models = AppendModels(models);
      }
    }
    if (const Node* v = r.Get("fallback")) {
      info.fallback_inherited = false;
      rule.action.fallback = ReadTierList(*v, "fallback", &info.fallback_locations);
    } else {
      rule.action.fallback = p_.defaults.fallback;
    }
    rule.action.deadline_ms = p_.defaults.deadline_ms;
    if (const Node* v = r.Get("deadline_ms")) {
      if (auto ms = ReadDeadline(*v)) rule.action.deadline_ms = *ms;
    }
    if (const Node* v = r.Get("require")) rule.action.require = ReadRequire(*v);
    p_.rules.push_back(rule);
    p_.rule_info.push_back(std::move(info));
  }

  Span ReadRequire(const Node& node) {
    yaml::MapReader r(node, d_, "require",
                      {"quality", "latency_ms", "ttft_ms", "cost_usd", "energy_j"});
    Span span{static_cast<std::uint32_t>(p_.requirements.size()), 0};
    if (!r.ok()) return span;
    for (const auto& [key, value] : node.entries) {
      std::optional<std::size_t> metric;
      for (std::size_t m = 0; m < internal::kMetricNames.size(); ++m) {
        if (internal::kMetricNames[m] == key.scalar) metric = m;
      }
      if (!metric) continue;  // reported by MapReader
      const std::string field = "require." + key.scalar;
      if (!value.IsMap() || value.entries.empty()) {
        d_.Error(value.location,
                 "expected a comparison for '" + field + "', like {gte: 0.6} or {lte: 1500}");
        continue;
      }
      for (const auto& [op_node, operand] : value.entries) {
        const std::string& op = op_node.scalar;
        if (std::find(kCompareOperators.begin(), kCompareOperators.end(), op) ==
            kCompareOperators.end()) {
          d_.Error(op_node.location, "unknown comparison " + Quote(op) + " for '" + field +
                                         "'; expected " + JoinAlternatives(kCompareOperators) +
                                         DidYouMean(op, kCompareOperators));
          continue;
        }
        internal::Requirement req;
        req.metric = static_cast<internal::Metric>(*metric);
        std::string text = key.scalar + " ";
        if (op == "between") {
          auto range = ReadRange(operand, field);
          if (!range) continue;
          req.lo = range->first;
          req.hi = range->second;
          text += "between " + Num(req.lo) + " and " + Num(req.hi);
        } else {
          auto v = yaml::ReadDouble(operand, d_, field);
          if (!v) continue;
          SetBound(op, *v, req.lo, req.hi, req.lo_open, req.hi_open);
          text += std::string(OperatorSymbol(op)) + " " + Num(*v);
        }
        p_.requirements.push_back(req);
        p_.requirement_text.push_back(std::move(text));
        ++span.count;
      }
    }
    return span;
  }

  // ---- conditions ------------------------------------------------------------------------

  std::uint32_t AddNode(ExprNode node, SourceLocation where, std::string text) {
    p_.nodes.push_back(node);
    p_.node_info.push_back({where, Clip(std::move(text))});
    return static_cast<std::uint32_t>(p_.nodes.size() - 1);
  }

  std::uint32_t AddGroup(ExprNode::Op op, const std::vector<std::uint32_t>& kids,
                         SourceLocation where, std::string text) {
    ExprNode node{op, static_cast<std::uint32_t>(p_.children.size()),
                  static_cast<std::uint32_t>(kids.size())};
    p_.children.insert(p_.children.end(), kids.begin(), kids.end());
    return AddNode(node, where, std::move(text));
  }

  std::string JoinTexts(const std::vector<std::uint32_t>& kids, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < kids.size(); ++i) {
      if (i > 0) out += sep;
      out += p_.node_info[kids[i]].text;
    }
    return out;
  }

  // A map of conditions, ANDed. Returns its node, or nullopt after reporting errors.
  std::optional<std::uint32_t> CompileMap(const Node& node, const std::string& what) {
    if (!node.IsMap()) {
      std::string msg =
          "expected a map of conditions for " + what + ", got " + std::string(node.KindName());
      if (node.IsSequence()) msg += "; to combine conditions write all: [...] or any: [...]";
      d_.Error(node.location, msg);
      return std::nullopt;
    }
    std::vector<std::uint32_t> kids;
    bool ok = true;
    for (const auto& [key, value] : node.entries) {
      std::optional<std::uint32_t> kid;
      if (key.scalar == "all" || key.scalar == "any") {
        kid = CompileList(key, value);
      } else if (key.scalar == "not") {
        if (auto inner = CompileMap(value, "'not'")) {
          kid = AddNode({ExprNode::Op::kNot, *inner, 0}, key.location,
                        "not (" + p_.node_info[*inner].text + ")");
        }
      } else if (const FieldInfo* field = internal::FindField(key.scalar)) {
        kid = CompileField(*field, key, value);
      } else {
        std::vector<std::string_view> names(internal::FieldNames().begin(),
                                            internal::FieldNames().end());
        names.insert(names.end(), kCombinators.begin(), kCombinators.end());
        d_.Error(key.location, "unknown field " + Quote(key.scalar) +
                                   DidYouMean(key.scalar, names) +
                                   (DidYouMean(key.scalar, names).empty()
                                        ? "; fields are device.*, network.*, request.*, "
                                          "fleet.*, peer.* and time.hour (docs/policies.md)"
                                        : ""));
      }
      if (kid) {
        kids.push_back(*kid);
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    if (kids.size() == 1) return kids[0];
    return AddGroup(ExprNode::Op::kAll, kids, node.location,
                    kids.empty() ? "always" : JoinTexts(kids, " and "));
  }

  std::optional<std::uint32_t> CompileList(const Node& key, const Node& value) {
    const bool any = key.scalar == "any";
    if (!value.IsSequence()) {
      d_.Error(value.location, "expected a list of condition maps for '" + key.scalar + "', got " +
                                   std::string(value.KindName()));
      return std::nullopt;
    }
    if (value.items.empty()) {
      d_.Error(value.location, "'" + key.scalar + "' needs at least one condition");
      return std::nullopt;
    }
    std::vector<std::uint32_t> kids;
    bool ok = true;
    for (const Node& item : value.items) {
      if (auto kid = CompileMap(item, "an item of '" + key.scalar + "'")) {
        kids.push_back(*kid);
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return AddGroup(any ? ExprNode::Op::kAny : ExprNode::Op::kAll, kids, key.location,
                    std::string(any ? "any of (" : "all of (") + JoinTexts(kids, "; ") + ")");
  }

  std::optional<std::uint32_t> CompileField(const FieldInfo& field, const Node& key,
                                            const Node& value) {
    if (value.IsScalar() && !yaml::IsNullLike(value)) {
      return CompileLeaf(field, "eq", value, key.location);
    }
    if (value.IsMap()) {
      if (value.entries.empty()) {
        d_.Error(value.location, "no operator for '" + std::string(field.name) +
                                     "'; write a value or {OPERATOR: VALUE}");
        return std::nullopt;
      }
      std::vector<std::uint32_t> kids;
      bool ok = true;
      for (const auto& [op, operand] : value.entries) {
        if (auto kid = CompileLeaf(field, op.scalar, operand, op.location)) {
          kids.push_back(*kid);
        } else {
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      if (kids.size() == 1) return kids[0];
      return AddGroup(ExprNode::Op::kAll, kids, key.location, JoinTexts(kids, " and "));
    }
    if (value.IsSequence()) {
      d_.Error(value.location, "a list is not one value for '" + std::string(field.name) +
                                   "'; to match any of them write {in: [...]}");
      return std::nullopt;
    }
    d_.Error(value.location, "missing value for '" + std::string(field.name) + "'");
    return std::nullopt;
  }

  std::uint32_t AddLeaf(const Condition& c, SourceLocation where, std::string text) {
    p_.conditions.push_back(c);
    return AddNode({ExprNode::Op::kLeaf, static_cast<std::uint32_t>(p_.conditions.size() - 1), 0},
                   where, std::move(text));
  }

  static std::string Num(double v) {
    char buf[32];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, ec == std::errc() ? ptr : buf);
  }

  // Operand scalars (a single value, or a list for in / not_in / between / contains).
  std::optional<std::vector<const Node*>> Operands(const Node& operand, const std::string& field,
                                                   std::string_view op, bool list) {
    std::vector<const Node*> out;
    if (!list) {
      if (!operand.IsScalar()) {
        d_.Error(operand.location, "expected one value for '" + field + "' " + std::string(op) +
                                       ", got " + std::string(operand.KindName()));
        return std::nullopt;
      }
      out.push_back(&operand);
      return out;
    }
    if (!operand.IsSequence()) {
      d_.Error(operand.location, "expected a list for '" + field + "' " + std::string(op) +
                                     ", got " + std::string(operand.KindName()));
      return std::nullopt;
    }
    if (operand.items.empty()) {
      d_.Error(operand.location, "'" + std::string(op) + "' needs at least one value");
      return std::nullopt;
    }
    for (const Node& item : operand.items) out.push_back(&item);
    return out;
  }

  std::optional<std::pair<double, double>> ReadRange(const Node& operand,
                                                     const std::string& field) {
    if (!operand.IsSequence() || operand.items.size() != 2) {
      d_.Error(operand.location,
               "'between' for '" + field + "' takes two numbers, [LOW, HIGH] (both included)");
      return std::nullopt;
    }
    auto lo = yaml::ReadDouble(operand.items[0], d_, field);
    auto hi = yaml::ReadDouble(operand.items[1], d_, field);
    if (!lo || !hi) return std::nullopt;
    if (*lo > *hi) {
      d_.Error(operand.location,
               "'between' for '" + field + "' has LOW " + Num(*lo) + " above HIGH " + Num(*hi));
      return std::nullopt;
    }
    return std::make_pair(*lo, *hi);
  }

  // Index of a name in `names`, or an error listing them.
  std::optional<std::size_t> ReadName(const Node& n, const std::string& field,
                                      std::span<const std::string_view> names,
                                      std::string_view kind) {
    auto s = yaml::ReadString(n, d_, field);
    if (!s) return std::nullopt;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == *s) return i;
    }
    std::string msg = "unknown " + std::string(kind) + " " + Quote(*s) + " for '" + field + "'";
    if (names.size() <= 12) msg += "; expected " + JoinAlternatives(names);
    d_.Error(n.location, msg + DidYouMean(*s, names));
    return std::nullopt;
  }

  std::optional<std::uint32_t> CompileLeaf(const FieldInfo& field, const std::string& op,
                                           const Node& operand, SourceLocation where) {
    const std::string fname(field.name);
    if (std::find(kOperators.begin(), kOperators.end(), op) == kOperators.end()) {
      d_.Error(where, "unknown operator " + Quote(op) + " for '" + fname + "'; expected " +
                          JoinAlternatives(kOperators) + DidYouMean(op, kOperators));
      return std::nullopt;
    }
    const bool list_op = op == "in" || op == "not_in";
    const bool order_op = op == "lt" || op == "lte" || op == "gt" || op == "gte";
    Condition c;
    c.field = field.id;
    std::string text = fname + " " + std::string(OperatorSymbol(op)) + " ";

    switch (field.type) {
      case ValueType::kNumber: {
        if (op == "contains")
          return WrongOperator(field, op, where,
                               "compare it with eq, ne, "
                               "lt, lte, gt, gte, in, "
                               "not_in or between");
        if (op == "between") {
          auto range = ReadRange(operand, fname);
          if (!range) return std::nullopt;
          c.test = Test::kRange;
          c.lo = range->first;
          c.hi = range->second;
          return AddLeaf(c, where, fname + " between " + Num(c.lo) + " and " + Num(c.hi));
        }
        auto nodes = Operands(operand, fname, op, list_op);
        if (!nodes) return std::nullopt;
        std::vector<double> values;
        for (const Node* n : *nodes) {
          auto v = yaml::ReadDouble(*n, d_, fname);
          if (!v) return std::nullopt;
          values.push_back(*v);
        }
        if (op == "ne" || list_op) {
          c.test = Test::kPoints;
          c.negate = op != "in";
          c.begin = static_cast<std::uint32_t>(p_.points.size());
          c.count = static_cast<std::uint32_t>(values.size());
          p_.points.insert(p_.points.end(), values.begin(), values.end());
        } else {
          c.test = Test::kRange;
          SetBound(op, values[0], c.lo, c.hi, c.lo_open, c.hi_open);
        }
        return AddLeaf(c, where, text + ListText(*nodes, list_op));
      }
      case ValueType::kBool:
      case ValueType::kEnum:
      case ValueType::kOrderedEnum:
      case ValueType::kProfile:
      case ValueType::kClass: {
        if (op == "contains") {
          return WrongOperator(field, op, where, "'contains' applies to model sets");
        }
        const bool ordered = field.type == ValueType::kOrderedEnum;
        if ((order_op || op == "between") && !ordered) {
          return WrongOperator(field, op, where,
                               field.type == ValueType::kBool
                                   ? "it is true or false; use a value or ne"
                                   : "its values have no order; use a value, ne, in or not_in");
        }
        std::vector<std::string_view> names;
        std::vector<std::uint64_t> value_masks;  // per name: the bits it stands for
        if (!ValueNames(field, names, value_masks)) return std::nullopt;
        const std::uint64_t universe = Universe(field);
        std::string_view kind = field.type == ValueType::kProfile ? "device profile"
                                : field.type == ValueType::kClass ? "device class"
                                                                  : "value";
        c.test = Test::kMaskAny;
        if (op == "between") {
          if (!operand.IsSequence() || operand.items.size() != 2) {
            d_.Error(operand.location,
                     "'between' for '" + fname + "' takes two values, [LOW, HIGH] (both included)");
            return std::nullopt;
          }
          auto lo = ReadName(operand.items[0], fname, names, kind);
          auto hi = ReadName(operand.items[1], fname, names, kind);
          if (!lo || !hi) return std::nullopt;
          for (std::size_t i = *lo; i <= *hi; ++i) c.mask |= value_masks[i];
          return AddLeaf(
              c, where,
              fname + " between " + std::string(names[*lo]) + " and " + std::string(names[*hi]));
        }
        if (field.type == ValueType::kBool && (op == "in" || op == "not_in")) {
          return WrongOperator(field, op, where, "it is true or false; use a value or ne");
        }
        auto nodes = Operands(operand, fname, op, list_op);
        if (!nodes) return std::nullopt;
        std::uint64_t mask = 0;
        for (const Node* n : *nodes) {
          std::optional<std::size_t> index;
          if (field.type == ValueType::kBool) {
            auto b = yaml::ReadBool(*n, d_, fname);
            if (b) index = *b ? 1 : 0;
          } else {
            index = ReadName(*n, fname, names, kind);
          }
          if (!index) return std::nullopt;
          if (order_op) {
            for (std::size_t i = 0; i < names.size(); ++i) {
              const bool keep = op == "lt"    ? i < *index
                                : op == "lte" ? i <= *index
                                : op == "gt"  ? i > *index
                                              : i >= *index;
              if (keep) mask |= value_masks[i];
            }
          } else {
            mask |= value_masks[*index];
          }
        }
        c.mask = (op == "ne" || op == "not_in") ? (universe & ~mask) : mask;
        return AddLeaf(c, where, text + ListText(*nodes, list_op));
      }
      case ValueType::kString: {
        if (op != "eq" && op != "ne" && !list_op) {
          return WrongOperator(field, op, where, "it is a name; use a value, ne, in or not_in");
        }
        auto nodes = Operands(operand, fname, op, list_op);
        if (!nodes) return std::nullopt;
        c.test = Test::kStrings;
        c.negate = op == "ne" || op == "not_in";
        c.begin = static_cast<std::uint32_t>(p_.strings.size());
        for (const Node* n : *nodes) {
          auto s = yaml::ReadString(*n, d_, fname);
          if (!s) return std::nullopt;
          p_.strings.push_back(*s);
        }
        c.count = static_cast<std::uint32_t>(nodes->size());
        return AddLeaf(c, where, text + ListText(*nodes, list_op));
      }
      case ValueType::kModelSet: {
        if (op != "contains") {
          return WrongOperator(field, op, where,
                               "it is a set of models; test it with {contains: MODEL} or "
                               "{contains: [MODEL, ...]} (all of them)");
        }
        std::vector<ModelIndex> models;
        if (!ReadModels(operand, fname, models)) return std::nullopt;
        c.test = Test::kMaskAll;
        for (ModelIndex m : models) c.mask |= std::uint64_t{1} << (m & 63);
        std::vector<const Node*> nodes;
        if (operand.IsSequence()) {
          for (const Node& item : operand.items) nodes.push_back(&item);
        } else {
          nodes.push_back(&operand);
        }
        return AddLeaf(c, where, fname + " contains " + ListText(nodes, operand.IsSequence()));
      }
    }
    return std::nullopt;
  }

  std::optional<std::uint32_t> WrongOperator(const FieldInfo& field, std::string_view op,
                                             SourceLocation where, std::string_view hint) {
    d_.Error(where, "operator '" + std::string(op) + "' does not apply to '" +
                        std::string(field.name) + "': " + std::string(hint));
    return std::nullopt;
  }

  static std::string ListText(const std::vector<const Node*>& nodes, bool list) {
    std::string out = list ? "[" : "";
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (i > 0) out += ", ";
      out += nodes[i]->scalar;
    }
    if (list) out += "]";
    return out;
  }

  // The spellings of a mask-tested field and, per spelling, the value bits it stands for.
  bool ValueNames(const FieldInfo& field, std::vector<std::string_view>& names,
                  std::vector<std::uint64_t>& masks) {
    if (field.type == ValueType::kProfile || field.type == ValueType::kClass) {
      if (catalog_.devices().size() > 64) return false;  // reported in BuildCatalogTables
    }
    if (field.type == ValueType::kProfile) {
      for (std::size_t i = 0; i < catalog_.devices().size(); ++i) {
        names.push_back(catalog_.devices()[i].name);
        masks.push_back(std::uint64_t{1} << i);
      }
      return true;
    }
    if (field.type == ValueType::kClass) {
      for (std::size_t i = 0; i < catalog_.devices().size(); ++i) {
        const std::string& cls = catalog_.devices()[i].device_class;
        auto it = std::find(names.begin(), names.end(), cls);
        if (it == names.end()) {
          names.push_back(cls);
          masks.push_back(0);
          it = names.end() - 1;
        }
        masks[static_cast<std::size_t>(it - names.begin())] |= std::uint64_t{1} << i;
      }
      return true;
    }
    for (std::size_t i = 0; i < field.names.size(); ++i) {
      names.push_back(field.names[i]);
      masks.push_back(std::uint64_t{1} << i);
    }
    return true;
  }

  std::uint64_t Universe(const FieldInfo& field) const {
    std::size_t n = field.names.size();
    if (field.type == ValueType::kProfile || field.type == ValueType::kClass) {
      n = catalog_.devices().size();
    }
    return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  }

  // ---- tiers, routes, models -------------------------------------------------------------

  std::optional<std::uint32_t> ReadDeadline(const Node& v) {
    auto ms = yaml::ReadInt(v, d_, "deadline_ms");
    if (!ms) return std::nullopt;
    if (*ms < 1 || *ms > static_cast<std::int64_t>(kMaxDeadlineMs)) {
      d_.Error(v.location, "'deadline_ms' is " + std::to_string(*ms) +
                               "; it must be between 1 and 600000 (ten minutes)");
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(*ms);
  }

  std::optional<RouteKind> ReadRoute(const Node& v) {
    auto s = yaml::ReadEnum(v, d_, "route", kRouteNames);
    if (!s) return std::nullopt;
    if (*s == "best") return RouteKind::kBest;
    return internal::RouteFor(*ParseTier(*s));
  }

  Span ReadTierList(const Node& v, std::string_view field, std::vector<SourceLocation>* locations) {
    Span span{static_cast<std::uint32_t>(p_.tier_lists.size()), 0};
    std::vector<const Node*> items;
    if (v.IsScalar()) {
      items.push_back(&v);
    } else if (v.IsSequence()) {
      for (const Node& item : v.items) items.push_back(&item);
    } else {
      d_.Error(v.location, "expected a list of tiers for '" + std::string(field) + "', got " +
                               std::string(v.KindName()));
      return span;
    }
    for (const Node* item : items) {
      auto s = yaml::ReadEnum(*item, d_, field, kTierNames);
      if (!s) continue;
      p_.tier_lists.push_back(*ParseTier(*s));
      if (locations != nullptr) locations->push_back(item->location);
      ++span.count;
    }
    return span;
  }

  bool ReadModels(const Node& v, const std::string& field, std::vector<ModelIndex>& out) {
    std::vector<const Node*> items;
    if (v.IsScalar()) {
      items.push_back(&v);
    } else if (v.IsSequence() && !v.items.empty()) {
      for (const Node& item : v.items) items.push_back(&item);
    } else {
      d_.Error(v.location, "expected a model name or a list of model names for '" + field +
                               "', got " +
                               std::string(v.IsSequence() ? "an empty list" : v.KindName()));
      return false;
    }
    bool ok = true;
    const std::vector<std::string_view> names = catalog_.ModelNames();
    for (const Node* item : items) {
      auto s = yaml::ReadString(*item, d_, field);
      if (!s) {
        ok = false;
        continue;
      }
      auto m = catalog_.FindModel(*s);
      if (!m) {
        d_.Error(item->location,
                 "unknown model " + Quote(*s) + " for '" + field + "'" + DidYouMean(*s, names) +
                     (DidYouMean(*s, names).empty() ? "; models: " + JoinAlternatives(names)
                                                    : std::string()));
        ok = false;
        continue;
      }
      out.push_back(*m);
    }
    return ok;
  }

  static SourceLocation ItemLocation(const Node& v, std::size_t i) {
    return v.IsSequence() && i < v.items.size() ? v.items[i].location : v.location;
  }

  bool TierRuns(Tier tier, ModelIndex m) const {
    if (tier == Tier::kCloud) return p_.cloud_runs.Contains(m);
    for (std::size_t dev = 0; dev < p_.device_count; ++dev) {
      if (tier == Tier::kPhone && !p_.accepts_offload[dev]) continue;
      if (p_.device_runs[dev].Contains(m)) return true;
    }
    return false;
  }

  void CheckTierRuns(Tier tier, ModelIndex m, SourceLocation where) {
    if (TierRuns(tier, m)) return;
    const std::string& name = catalog_.model(m).name;
    std::string why = tier == Tier::kCloud   ? "the catalog's cloud section does not serve it"
                      : tier == Tier::kPhone ? "no device class that accepts offloads runs it"
                                             : "no device class in the catalog runs it";
    d_.Error(where,
             "model '" + name + "' cannot run on the " + std::string(Name(tier)) + " tier: " + why);
  }

  Span AppendModels(const std::vector<ModelIndex>& models) {
    Span span{static_cast<std::uint32_t>(p_.model_lists.size()),
              static_cast<std::uint32_t>(models.size())};
    p_.model_lists.insert(p_.model_lists.end(), models.begin(), models.end());
    return span;
  }

  Diagnostics& d_;
  const Catalog& catalog_;
  Program p_;
  bool structured_ = false;  // the top level was a readable map
};

}  // namespace

double internal::MetricOf(const Prediction& p, Metric m) {
  switch (m) {
    case Metric::kQuality: return p.quality;
    case Metric::kLatencyMs: return p.latency_ms;
    case Metric::kTtftMs: return p.ttft_ms;
    case Metric::kCostUsd: return p.cost_usd;
    case Metric::kEnergyJ: return p.energy_j;
  }
  return 0;
}

namespace {

PolicyPtr Parse(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog, bool partial) {
  if (!catalog) catalog = DefaultCatalog();
  std::optional<yaml::Node> root = yaml::Parse(text, diagnostics);
  if (!root) return nullptr;
  Policy::Meta meta;
  Compiler compiler(diagnostics, *catalog);
  if (!compiler.Compile(*root, meta) && !(partial && compiler.FinishPartial())) return nullptr;
  meta.file = diagnostics.file();
  meta.source = std::string(text);
  meta.version = Sha256Hex(text);
  return std::make_shared<const Policy>(std::move(meta), std::move(catalog),
                                        std::move(compiler.program()));
}

}  // namespace

PolicyPtr ParsePolicy(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog) {
  return Parse(text, diagnostics, std::move(catalog), false);
}

PolicyPtr ParsePartialPolicy(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog) {
  return Parse(text, diagnostics, std::move(catalog), true);
}

Result<PolicyPtr> LoadPolicyFile(const std::string& path, CatalogPtr catalog) {
  Result<std::string> text = yaml::ReadTextFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diagnostics(path);
  PolicyPtr policy = ParsePolicy(*text, diagnostics, std::move(catalog));
  if (!policy) return diagnostics.ToStatus();
  return policy;
}

}  // namespace partita::policy
