#include "policies/lint.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "common/yaml_tree.h"
#include "policies/loader.h"
#include "policies/test_runner.h"

namespace partita::policy {

namespace {

using internal::Condition;
using internal::ExprNode;
using internal::FieldId;
using internal::kInf;
using internal::kNoNode;
using internal::Program;
using internal::Test;
using internal::ValueType;

// ---- An abstract domain: for each field, a superset of the values a condition allows. -----

struct Interval {
  double lo = -kInf;
  double hi = kInf;
  bool lo_open = true;
  bool hi_open = true;

  bool Empty() const { return lo > hi || (lo == hi && (lo_open || hi_open)); }
};
using Intervals = std::vector<Interval>;

bool LessLo(const Interval& a, const Interval& b) {
  if (a.lo != b.lo) return a.lo < b.lo;
  return !a.lo_open && b.lo_open;
}

Intervals Intersect(const Intervals& a, const Intervals& b) {
  Intervals out;
  for (const Interval& x : a) {
    for (const Interval& y : b) {
      Interval z;
      if (x.lo > y.lo || (x.lo == y.lo && x.lo_open)) {
        z.lo = x.lo;
        z.lo_open = x.lo_open;
      } else {
        z.lo = y.lo;
        z.lo_open = y.lo_open;
      }
      if (x.hi < y.hi || (x.hi == y.hi && x.hi_open)) {
        z.hi = x.hi;
        z.hi_open = x.hi_open;
      } else {
        z.hi = y.hi;
        z.hi_open = y.hi_open;
      }
      if (!z.Empty()) out.push_back(z);
    }
  }
  std::sort(out.begin(), out.end(), LessLo);
  return out;
}

// The complement over the reals of sorted, disjoint intervals.
Intervals Complement(const Intervals& a) {
  Intervals out;
  double lo = -kInf;
  bool lo_open = true;
  for (const Interval& x : a) {
    Interval gap{lo, x.lo, lo_open, !x.lo_open};
    if (!gap.Empty()) out.push_back(gap);
    lo = x.hi;
    lo_open = !x.hi_open;
  }
  Interval last{lo, kInf, lo_open, true};
  if (!last.Empty()) out.push_back(last);
  return out;
}

Intervals Union(const Intervals& a, const Intervals& b) {
  return Complement(Intersect(Complement(a), Complement(b)));
}

bool Subset(const Intervals& a, const Intervals& b) { return Intersect(a, Complement(b)).empty(); }

// A finite set of strings, or (co) everything except a finite set.
struct StringSet {
  bool co = true;
  std::vector<std::string> items;

  bool Has(const std::string& s) const {
    return std::find(items.begin(), items.end(), s) != items.end();
  }
  bool Contains(const std::string& s) const { return Has(s) != co; }
  bool Empty() const { return !co && items.empty(); }
};

StringSet Intersect(const StringSet& a, const StringSet& b) {
  StringSet out;
  if (!a.co && !b.co) {
    out.co = false;
    for (const std::string& s : a.items) {
      if (b.Has(s)) out.items.push_back(s);
    }
  } else if (!a.co || !b.co) {
    const StringSet& finite = a.co ? b : a;
    const StringSet& co = a.co ? a : b;
    out.co = false;
    for (const std::string& s : finite.items) {
      if (co.Contains(s)) out.items.push_back(s);
    }
  } else {
    out.items = a.items;
    for (const std::string& s : b.items) {
      if (!out.Has(s)) out.items.push_back(s);
    }
  }
  return out;
}

StringSet Complement(StringSet a) {
  a.co = !a.co;
  return a;
}

StringSet Union(const StringSet& a, const StringSet& b) {
  return Complement(Intersect(Complement(a), Complement(b)));
}

bool Subset(const StringSet& a, const StringSet& b) { return Intersect(a, Complement(b)).Empty(); }

struct FieldSet {
  Intervals number;                    // kNumber
  std::uint64_t mask = 0;              // enums, bools, profiles, classes
  StringSet text;                      // device.id
  std::uint64_t required = 0;          // model sets: contains every one of these
  std::vector<std::uint64_t> not_all;  // model sets: lacks at least one of each
};

class Analyzer {
 public:
  explicit Analyzer(const Policy& policy) : p_(policy.program()) {
    for (std::size_t f = 0; f < internal::kFieldCount; ++f) {
      const internal::FieldInfo& info = internal::AllFields()[f];
      FieldSet& s = universe_.f[f];
      s.number = {Domain(info)};
      s.mask = MaskUniverse(info);
    }
  }

  // A conjunction of per-field sets; `impossible` when a combination empties it as a whole.
  struct Conj {
    std::array<FieldSet, internal::kFieldCount> f;
    bool impossible = false;
  };

  const Conj& universe() const { return universe_; }

  static Interval Domain(const internal::FieldInfo& info) {
    return Interval{info.lo, info.hi, false, info.hi == kInf};
  }

  std::uint64_t MaskUniverse(const internal::FieldInfo& info) const {
    std::size_t n = info.names.size();
    if (info.type == ValueType::kProfile || info.type == ValueType::kClass) n = p_.device_count;
    return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  }

  static ValueType TypeOf(FieldId f) { return internal::Field(f).type; }
  static bool IsMaskType(ValueType t) {
    return t != ValueType::kNumber && t != ValueType::kString && t != ValueType::kModelSet;
  }

  Intervals LeafNumbers(const Condition& c) const {
    if (c.test == Test::kRange) return {Interval{c.lo, c.hi, c.lo_open, c.hi_open}};
    Intervals points;
    for (std::uint32_t i = 0; i < c.count; ++i) {
      const double v = p_.points[c.begin + i];
      points.push_back(Interval{v, v, false, false});
    }
    std::sort(points.begin(), points.end(), LessLo);
    points.erase(std::unique(points.begin(), points.end(),
                             [](const Interval& a, const Interval& b) { return a.lo == b.lo; }),
                 points.end());
    return c.negate ? Complement(points) : points;
  }

  StringSet LeafStrings(const Condition& c) const {
    StringSet s;
    s.co = c.negate;
    for (std::uint32_t i = 0; i < c.count; ++i) s.items.push_back(p_.strings[c.begin + i]);
    return s;
  }

  static bool Empty(const FieldSet& s, ValueType type) {
    switch (type) {
      case ValueType::kNumber: return s.number.empty();
      case ValueType::kString: return s.text.Empty();
      case ValueType::kModelSet:
        for (std::uint64_t na : s.not_all) {
          if ((na & ~s.required) == 0) return true;
        }
        return false;
      default: return s.mask == 0;
    }
  }

  // The first field with no value left, or nullopt.
  static std::optional<FieldId> EmptyField(const Conj& c) {
    for (std::size_t f = 0; f < internal::kFieldCount; ++f) {
      if (Empty(c.f[f], TypeOf(static_cast<FieldId>(f)))) return static_cast<FieldId>(f);
    }
    return std::nullopt;
  }
  static bool Empty(const Conj& c) { return c.impossible || EmptyField(c).has_value(); }

  // Narrows `c` by node (or by its negation): afterwards c is a superset of (c and node).
  void Restrict(Conj& c, std::uint32_t node, bool negate) const {
    if (node == kNoNode) {
      if (negate) c.impossible = true;  // "not always": nothing is left
      return;
    }
    const ExprNode& n = p_.nodes[node];
    switch (n.op) {
      case ExprNode::Op::kLeaf: {
        const Condition& cond = p_.conditions[n.a];
        FieldSet& s = c.f[static_cast<std::size_t>(cond.field)];
        const ValueType type = TypeOf(cond.field);
        if (type == ValueType::kNumber) {
          const Intervals leaf = LeafNumbers(cond);
          s.number = Intersect(s.number, negate ? Complement(leaf) : leaf);
        } else if (type == ValueType::kString) {
          const StringSet leaf = LeafStrings(cond);
          s.text = Intersect(s.text, negate ? Complement(leaf) : leaf);
        } else if (type == ValueType::kModelSet) {
          if (negate) {
            s.not_all.push_back(cond.mask);
          } else {
            s.required |= cond.mask;
          }
        } else {
          s.mask &= negate ? ~cond.mask : cond.mask;
        }
        return;
      }
      case ExprNode::Op::kNot: Restrict(c, n.a, !negate); return;
      case ExprNode::Op::kAll:
      case ExprNode::Op::kAny: {
        // all (or not any): every child narrows; any (or not all): the union of the children.
        const bool conjunction = (n.op == ExprNode::Op::kAll) != negate;
        if (conjunction || n.n == 1) {
          for (std::uint32_t i = 0; i < n.n; ++i) Restrict(c, p_.children[n.a + i], negate);
          return;
        }
        std::optional<Conj> hull;
        for (std::uint32_t i = 0; i < n.n; ++i) {
          Conj branch = c;
          Restrict(branch, p_.children[n.a + i], negate);
          if (Empty(branch)) continue;
          if (!hull) {
            hull = std::move(branch);
          } else {
            Join(*hull, branch);
          }
        }
        if (!hull) {
          c.impossible = true;
        } else {
          c = std::move(*hull);
        }
        return;
      }
    }
  }

  // a := a or b, field by field (a superset of the union).
  static void Join(Conj& a, const Conj& b) {
    for (std::size_t f = 0; f < internal::kFieldCount; ++f) {
      FieldSet& x = a.f[f];
      const FieldSet& y = b.f[f];
      x.number = Union(x.number, y.number);
      x.mask |= y.mask;
      x.text = Union(x.text, y.text);
      x.required &= y.required;
      std::vector<std::uint64_t> common;
      for (std::uint64_t na : x.not_all) {
        if (std::find(y.not_all.begin(), y.not_all.end(), na) != y.not_all.end()) {
          common.push_back(na);
        }
      }
      x.not_all = std::move(common);
    }
  }

  // True when every input in c satisfies node (proved; false means "not proved").
  bool Implies(const Conj& c, std::uint32_t node) const {
    if (node == kNoNode || Empty(c)) return true;
    const ExprNode& n = p_.nodes[node];
    switch (n.op) {
      case ExprNode::Op::kLeaf: {
        const Condition& cond = p_.conditions[n.a];
        const FieldSet& s = c.f[static_cast<std::size_t>(cond.field)];
        const ValueType type = TypeOf(cond.field);
        if (type == ValueType::kNumber) return Subset(s.number, LeafNumbers(cond));
        if (type == ValueType::kString) return Subset(s.text, LeafStrings(cond));
        if (type == ValueType::kModelSet) return (s.required & cond.mask) == cond.mask;
        return (s.mask & ~cond.mask) == 0;
      }
      case ExprNode::Op::kAll:
        for (std::uint32_t i = 0; i < n.n; ++i) {
          if (!Implies(c, p_.children[n.a + i])) return false;
        }
        return true;
      case ExprNode::Op::kAny:
        for (std::uint32_t i = 0; i < n.n; ++i) {
          if (Implies(c, p_.children[n.a + i])) return true;
        }
        // Case split: each branch of c's own any-shaped hull is not tracked; try negation.
        return Disjoint(c, node, /*negated=*/true);
      case ExprNode::Op::kNot: return Disjoint(c, n.a);
    }
    return false;
  }

  // True when no input in c satisfies node (or, negated, its negation).
  bool Disjoint(const Conj& c, std::uint32_t node, bool negated = false) const {
    Conj narrowed = c;
    Restrict(narrowed, node, negated);
    if (Empty(narrowed)) return true;
    if (node == kNoNode) return false;
    const ExprNode& n = p_.nodes[node];
    if (negated) return false;
    switch (n.op) {
      case ExprNode::Op::kNot: return Implies(c, n.a);
      case ExprNode::Op::kAll:
        for (std::uint32_t i = 0; i < n.n; ++i) {
          if (Disjoint(c, p_.children[n.a + i])) return true;
        }
        return false;
      case ExprNode::Op::kAny:
        for (std::uint32_t i = 0; i < n.n; ++i) {
          if (!Disjoint(c, p_.children[n.a + i])) return false;
        }
        return true;
      case ExprNode::Op::kLeaf: return false;
    }
    return false;
  }

 private:
  const Program& p_;
  Conj universe_;
};

std::string Num(double v) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? ptr : buf);
}

std::string LineOf(SourceLocation l) { return "line " + std::to_string(l.line); }

class Linter {
 public:
  Linter(const Policy& policy, Diagnostics& d) : p_(policy.program()), d_(d), a_(policy) {}

  void Run() {
    DuplicateNames();
    Guards();
    Leaves();
    Objective();
    FallbackLists();
    Rules();
  }

 private:
  using Conj = Analyzer::Conj;

  void DuplicateNames() {
    for (std::size_t i = 0; i < p_.rule_info.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (p_.rule_info[i].name == p_.rule_info[j].name) {
          d_.Error(p_.rule_info[i].location,
                   "duplicate rule name '" + p_.rule_info[i].name + "' (first at " +
                       LineOf(p_.rule_info[j].location) +
                       "); decision logs and metrics count rules by name");
          break;
        }
      }
    }
    for (std::size_t i = 0; i < p_.guard_info.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (p_.guard_info[i].name == p_.guard_info[j].name) {
          d_.Error(p_.guard_info[i].location, "duplicate guard name '" + p_.guard_info[i].name +
                                                  "' (first at " +
                                                  LineOf(p_.guard_info[j].location) + ")");
          break;
        }
      }
    }
  }

  void Guards() {
    for (std::size_t g = 0; g < p_.guards.size(); ++g) {
      const internal::Guard& guard = p_.guards[g];
      const internal::GuardInfo& info = p_.guard_info[g];
      if (info.broken) continue;
      Conj c = a_.universe();
      a_.Restrict(c, guard.when.root, false);
      if (Analyzer::Empty(c)) {
        d_.Warning(info.location,
                   "guard '" + info.name + "' can never apply: its conditions are never true");
      }
      if (guard.never == 0b111) {
        d_.Warning(info.never_location,
                   "guard '" + info.name +
                       "' forbids every tier: the requests it covers can never be served");
      }
      if (guard.when.root != kNoNode || p_.defaults_broken) continue;
      // A guard for every request: defaults.fallback must not name what it forbids.
      for (std::uint32_t k = 0; k < p_.defaults.fallback.count; ++k) {
        const Tier t = p_.tier_lists[p_.defaults.fallback.begin + k];
        if (guard.never & (1u << static_cast<unsigned>(t))) {
          d_.Error(p_.defaults_fallback_locations[k],
                   "defaults.fallback names " + std::string(Name(t)) + ", which guard '" +
                       info.name + "' forbids for every request");
        }
      }
    }
  }

  // Conditions that are always or never true over their field's range.
  void Leaves() {
    for (std::size_t i = 0; i < p_.nodes.size(); ++i) {
      if (p_.nodes[i].op != ExprNode::Op::kLeaf) continue;
      const Condition& c = p_.conditions[p_.nodes[i].a];
      const internal::FieldInfo& field = internal::Field(c.field);
      const ValueType type = field.type;
      if (type == ValueType::kString || type == ValueType::kModelSet) continue;
      const std::uint32_t node = static_cast<std::uint32_t>(i);
      const Conj& all = a_.universe();
      const std::string& text = p_.node_info[i].text;
      std::string range = type == ValueType::kNumber
                              ? " (" + std::string(field.name) + " is between " + Num(field.lo) +
                                    " and " + (field.hi == kInf ? "infinity" : Num(field.hi)) + ")"
                              : "";
      if (a_.Disjoint(all, node)) {
        d_.Warning(p_.node_info[i].location, "'" + text + "' is never true" + range);
      } else if (a_.Implies(all, node)) {
        d_.Warning(p_.node_info[i].location, "'" + text + "' is always true" + range);
      }
    }
  }

  void Objective() {
    if (p_.objective_broken) return;
    for (std::size_t i = 0; i < p_.rules.size(); ++i) {
      if (p_.rules[i].action.route != internal::RouteKind::kBest) continue;
      const internal::Objective& o = p_.objective;
      if (!p_.has_objective) {
        d_.Warning(p_.rule_info[i].route_location,
                   "route: best with no spec.objective scores candidates by latency_ms alone; "
                   "set objective weights to say what 'best' means");
      } else if (o.latency_ms == 0 && o.cost_usd == 0 && o.energy_j == 0 && o.quality == 0) {
        d_.Warning(p_.rule_info[i].route_location,
                   "every objective weight is 0, so route: best cannot tell candidates apart "
                   "(the first allowed tier wins)");
      }
      return;
    }
  }

  void FallbackLists() {
    auto check = [&](internal::Span span, const std::vector<SourceLocation>& locations) {
      std::uint8_t seen = 0;
      for (std::uint32_t k = 0; k < span.count && k < locations.size(); ++k) {
        const Tier t = p_.tier_lists[span.begin + k];
        const std::uint8_t bit = static_cast<std::uint8_t>(1u << static_cast<unsigned>(t));
        if (seen & bit) {
          d_.Warning(locations[k], "fallback lists " + std::string(Name(t)) +
                                       " twice; the second entry is skipped");
        }
        seen |= bit;
      }
    };
    check(p_.defaults.fallback, p_.defaults_fallback_locations);
    for (std::size_t i = 0; i < p_.rules.size(); ++i) {
      if (!p_.rule_info[i].fallback_inherited) {
        check(p_.rules[i].action.fallback, p_.rule_info[i].fallback_locations);
      }
    }
  }

  void Rules() {
    const std::size_t n = p_.rules.size();
    std::vector<Conj> own(n), effective(n);
    std::vector<bool> reachable(n, true);
    std::optional<std::size_t> catch_all;
    Conj rest = a_.universe();  // requests no rule so far has matched
    for (std::size_t i = 0; i < n; ++i) {
      const internal::Rule& rule = p_.rules[i];
      const internal::RuleInfo& info = p_.rule_info[i];
      if (info.broken) {
        // Its conditions did not compile (already reported): it neither shadows later rules
        // nor is checked itself.
        reachable[i] = false;
        continue;
      }
      own[i] = a_.universe();
      a_.Restrict(own[i], rule.when.root, false);
      effective[i] = rest;
      a_.Restrict(effective[i], rule.when.root, false);

      if (Analyzer::Empty(own[i])) {
        const auto field = Analyzer::EmptyField(own[i]);
        d_.Error(info.location,
                 "rule '" + info.name + "' can never match: its conditions" +
                     (field ? " on " + std::string(internal::Field(*field).name) : "") +
                     " are never true together");
        reachable[i] = false;
      } else if (catch_all) {
        d_.Error(info.location, "rule '" + info.name + "' can never match: rule '" +
                                    p_.rule_info[*catch_all].name + "' (" +
                                    LineOf(p_.rule_info[*catch_all].location) +
                                    ") matches every request");
        reachable[i] = false;
      } else {
        for (std::size_t j = 0; j < i && reachable[i]; ++j) {
          if (p_.rule_info[j].broken) continue;
          if (a_.Implies(own[i], p_.rules[j].when.root)) {
            d_.Error(info.location, "rule '" + info.name + "' can never match: rule '" +
                                        p_.rule_info[j].name + "' (" +
                                        LineOf(p_.rule_info[j].location) +
                                        ") matches every request it would");
            reachable[i] = false;
          }
        }
        if (reachable[i] && Analyzer::Empty(effective[i])) {
          d_.Error(info.location, "rule '" + info.name +
                                      "' can never match: the rules above it together match "
                                      "every request it would");
          reachable[i] = false;
        }
      }
      if (reachable[i] && !catch_all && a_.Implies(a_.universe(), rule.when.root)) catch_all = i;
      a_.Restrict(rest, rule.when.root, true);
      if (reachable[i]) GuardConflicts(i, effective[i]);
    }
    // With rules or defaults that did not compile, what no rule matches is unknown.
    if (p_.rules_incomplete || p_.defaults_broken) return;
    if (!catch_all && !p_.defaults_has_route && !Analyzer::Empty(rest)) {
      d_.Error(p_.rules_location,
               "no rule matches every request and there is no defaults.route: a request that "
               "matches no rule is only tried on defaults.fallback. Add a last rule without "
               "'when' (a catch-all) or set defaults.route");
    }
    if (!catch_all && !Analyzer::Empty(rest)) DefaultConflicts(rest);
  }

  // Is every request in `handled` that a guard covers also caught by an earlier rule?
  bool Shadowed(const Conj& handled_and_guarded, std::size_t rule_limit) const {
    for (std::size_t j = 0; j < rule_limit; ++j) {
      if (p_.rule_info[j].broken) continue;
      if (a_.Implies(handled_and_guarded, p_.rules[j].when.root)) return true;
    }
    return false;
  }

  enum class Overlap { kNone, kSome, kAll };

  Overlap GuardOverlap(const Conj& handled, const internal::Guard& guard,
                       std::size_t rule_limit) const {
    Conj both = handled;
    a_.Restrict(both, guard.when.root, false);
    if (Analyzer::Empty(both) || Shadowed(both, rule_limit)) return Overlap::kNone;
    return a_.Implies(handled, guard.when.root) ? Overlap::kAll : Overlap::kSome;
  }

  std::string GuardText(std::size_t g) const {
    const std::uint32_t root = p_.guards[g].when.root;
    return root == kNoNode ? "every request" : p_.node_info[root].text;
  }

  static bool Forbids(const internal::Guard& g, Tier t) {
    return (g.never & (1u << static_cast<unsigned>(t))) != 0;
  }

  void GuardConflicts(std::size_t i, const Conj& handled) {
    const internal::Rule& rule = p_.rules[i];
    const internal::RuleInfo& info = p_.rule_info[i];
    for (std::size_t g = 0; g < p_.guards.size(); ++g) {
      const internal::Guard& guard = p_.guards[g];
      const std::string& gname = p_.guard_info[g].name;
      if (p_.guard_info[g].broken) continue;
      if (internal::IsTier(rule.action.route) &&
          Forbids(guard, internal::TierOf(rule.action.route))) {
        const std::string tier(Name(internal::TierOf(rule.action.route)));
        switch (GuardOverlap(handled, guard, i)) {
          case Overlap::kNone: break;
          case Overlap::kAll:
            d_.Error(info.route_location, "rule '" + info.name + "' routes to " + tier +
                                              ", but guard '" + gname + "' forbids " + tier +
                                              " for every request this rule matches");
            break;
          case Overlap::kSome:
            d_.Warning(info.route_location,
                       "rule '" + info.name + "' routes to " + tier + ", which guard '" + gname +
                           "' forbids when " + GuardText(g) +
                           "; such requests it matches go to its fallback instead (add a "
                           "condition to make that explicit)");
            break;
        }
      }
      if (guard.when.root == kNoNode && info.fallback_inherited) continue;  // reported on defaults
      std::uint8_t seen = 0;
      for (std::uint32_t k = 0; k < rule.action.fallback.count; ++k) {
        const Tier t = p_.tier_lists[rule.action.fallback.begin + k];
        const std::uint8_t bit = static_cast<std::uint8_t>(1u << static_cast<unsigned>(t));
        if (!Forbids(guard, t) || (seen & bit)) continue;
        seen |= bit;
        const std::string tier(Name(t));
        const SourceLocation where =
            info.fallback_inherited ? info.location : info.fallback_locations[k];
        switch (GuardOverlap(handled, guard, i)) {
          case Overlap::kNone: break;
          case Overlap::kAll:
            d_.Error(where, "rule '" + info.name + "' falls back to " + tier + ", but guard '" +
                                gname + "' forbids " + tier +
                                " for every request this rule matches" +
                                (info.fallback_inherited
                                     ? " (the fallback comes from defaults.fallback; give the "
                                       "rule its own fallback)"
                                     : ""));
            break;
          case Overlap::kSome:
            if (!info.fallback_inherited) {
              d_.Warning(where, "rule '" + info.name + "' falls back to " + tier +
                                    ", which guard '" + gname + "' forbids where " + GuardText(g) +
                                    "; that entry is skipped for those requests");
            }
            break;
        }
      }
    }
  }

  void DefaultConflicts(const Conj& rest) {
    const std::size_t limit = p_.rules.size();
    for (std::size_t g = 0; g < p_.guards.size(); ++g) {
      const internal::Guard& guard = p_.guards[g];
      const std::string& gname = p_.guard_info[g].name;
      if (!p_.defaults_has_route || !internal::IsTier(p_.defaults.route)) continue;
      const Tier t = internal::TierOf(p_.defaults.route);
      if (!Forbids(guard, t)) continue;
      const std::string tier(Name(t));
      switch (GuardOverlap(rest, guard, limit)) {
        case Overlap::kNone: break;
        case Overlap::kAll:
          d_.Error(p_.defaults_route_location, "defaults.route is " + tier + ", but guard '" +
                                                   gname + "' forbids " + tier +
                                                   " for every request no rule matches");
          break;
        case Overlap::kSome:
          d_.Warning(p_.defaults_route_location,
                     "defaults.route is " + tier + ", which guard '" + gname + "' forbids where " +
                         GuardText(g) +
                         "; such requests that no rule matches go to defaults.fallback");
          break;
      }
    }
  }

  const Program& p_;
  Diagnostics& d_;
  Analyzer a_;
};

}  // namespace

void LintLoadedPolicy(const Policy& policy, Diagnostics& diagnostics) {
  Linter(policy, diagnostics).Run();
}

PolicyPtr LintPolicy(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog) {
  // Every problem in one pass: when parts of the policy do not compile, the whole-policy
  // checks still run over the parts that did.
  PolicyPtr policy = ParsePartialPolicy(text, diagnostics, std::move(catalog));
  if (!policy) return nullptr;
  LintLoadedPolicy(*policy, diagnostics);
  // The test cases kept in the file must be well formed too.
  std::optional<yaml::Node> root = yaml::Parse(text, diagnostics);
  if (root) {
    if (const yaml::Node* tests = root->Find("tests")) {
      std::vector<TestCase> cases;
      ReadTestCases(*tests, *policy, diagnostics, cases);
    }
  }
  return policy->program().partial ? nullptr : policy;
}

}  // namespace partita::policy
