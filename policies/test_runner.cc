#include "policies/test_runner.h"

#include <algorithm>
#include <filesystem>

#include "common/did_you_mean.h"
#include "common/yaml_reader.h"
#include "policies/loader.h"

namespace partita::policy {

namespace {

using yaml::Node;

std::optional<std::string> ReadKnownName(const Node& n, std::string_view field,
                                         std::span<const std::string_view> known,
                                         std::string_view kind, Diagnostics& d) {
  auto s = yaml::ReadString(n, d, field);
  if (!s) return std::nullopt;
  for (std::string_view k : known) {
    if (k == *s) return s;
  }
  d.Error(n.location, "'" + std::string(field) + "' names " + std::string(kind) + " '" + *s +
                          "', which the policy does not have" + DidYouMean(*s, known));
  return std::nullopt;
}

std::optional<std::vector<Tier>> ReadTiers(const Node& n, Diagnostics& d) {
  std::vector<const Node*> items;
  if (n.IsSequence()) {
    for (const Node& item : n.items) items.push_back(&item);
  } else {
    items.push_back(&n);
  }
  std::vector<Tier> out;
  for (const Node* item : items) {
    auto s = yaml::ReadEnum(*item, d, "fallback", kTierNames);
    if (!s) return std::nullopt;
    out.push_back(*ParseTier(*s));
  }
  return out;
}

std::string TierList(std::span<const Tier> tiers) {
  std::string out = "[";
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (i > 0) out += ", ";
    out += Name(tiers[i]);
  }
  return out + "]";
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out + "]";
}

bool ReadCase(const Node& node, std::size_t index, const Policy& policy, Diagnostics& d,
              TestCase& out) {
  const std::size_t errors = d.error_count();
  yaml::MapReader r(node, d, "test " + std::to_string(index + 1),
                    {"name", "description", "state", "expect"});
  if (!r.ok()) return false;
  out.file = d.file();
  out.location = node.location;
  out.name = "test-" + std::to_string(index + 1);
  if (auto name = r.RequireString("name")) out.name = *name;
  static const Node kEmpty;
  const Node* state = r.Get("state");
  if (auto s = ReadState(state ? *state : kEmpty, *policy.catalog(), d)) out.state = std::move(*s);

  const Node* expect = r.Require("expect");
  if (expect == nullptr) return false;
  yaml::MapReader e(*expect, d, "expect",
                    {"tier", "rule", "model", "fallback", "ok", "deadline_ms", "guards"});
  if (!e.ok()) return false;
  if (expect->entries.empty()) {
    d.Error(expect->location,
            "'expect' is empty; give at least one of tier, rule, model, "
            "fallback, ok, deadline_ms or guards");
  }
  TestExpectation& x = out.expect;
  if (const Node* v = e.Get("tier")) {
    if (auto s = yaml::ReadEnum(*v, d, "tier", kTierNames)) x.tier = ParseTier(*s);
  }
  if (const Node* v = e.Get("rule")) {
    std::vector<std::string_view> rules;
    for (std::size_t i = 0; i < policy.rule_count(); ++i) {
      rules.push_back(policy.rule_name(static_cast<std::int32_t>(i)));
    }
    x.rule = ReadKnownName(*v, "rule", rules, "rule", d);
  }
  if (const Node* v = e.Get("model")) {
    const std::vector<std::string_view> models = policy.catalog()->ModelNames();
    if (auto s = yaml::ReadString(*v, d, "model")) {
      if (policy.catalog()->FindModel(*s)) {
        x.model = *s;
      } else {
        d.Error(v->location, "unknown model '" + *s + "'" + DidYouMean(*s, models));
      }
    }
  }
  if (const Node* v = e.Get("fallback")) {
    if (auto tiers = ReadTiers(*v, d)) x.fallback = std::move(*tiers);
  } else if (const Node* raw = expect->Find("fallback"); raw != nullptr && raw->IsSequence()) {
    x.fallback = std::vector<Tier>{};
  }
  if (const Node* v = e.Get("ok")) x.ok = yaml::ReadBool(*v, d, "ok");
  if (const Node* v = e.Get("deadline_ms")) {
    if (auto ms = yaml::ReadInt(*v, d, "deadline_ms"); ms && *ms >= 0) {
      x.deadline_ms = static_cast<std::uint32_t>(*ms);
    } else if (ms) {
      d.Error(v->location, "'deadline_ms' cannot be negative");
    }
  }
  if (const Node* v = e.Get("guards")) {
    std::vector<std::string_view> guards;
    for (std::size_t i = 0; i < policy.guard_count(); ++i) guards.push_back(policy.guard_name(i));
    std::vector<std::string> names;
    if (v->IsSequence()) {
      for (const Node& item : v->items) {
        if (auto s = ReadKnownName(item, "guards", guards, "guard", d)) names.push_back(*s);
      }
    } else if (auto s = ReadKnownName(*v, "guards", guards, "guard", d)) {
      names.push_back(*s);
    }
    x.guards = std::move(names);
  }
  return d.error_count() == errors;
}

}  // namespace

bool ReadTestCases(const yaml::Node& list, const Policy& policy, Diagnostics& diagnostics,
                   std::vector<TestCase>& out) {
  if (yaml::IsNullLike(list)) return true;
  if (!list.IsSequence()) {
    diagnostics.Error(list.location, "expected a list of test cases for 'tests', got " +
                                         std::string(list.KindName()));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    TestCase c;
    if (ReadCase(list.items[i], i, policy, diagnostics, c)) {
      out.push_back(std::move(c));
    } else {
      ok = false;
    }
  }
  return ok;
}

std::string SiblingTestPath(const std::string& policy_path) {
  std::string base = policy_path;
  for (std::string_view ext : {".yaml", ".yml"}) {
    if (base.size() > ext.size() && base.ends_with(ext)) {
      base.resize(base.size() - ext.size());
      break;
    }
  }
  return base + ".test.yaml";
}

Result<TestSuite> LoadTestSuite(const std::string& path, CatalogPtr catalog) {
  std::string policy_path = path;
  if (path.ends_with(".test.yaml")) {
    policy_path = path.substr(0, path.size() - std::string_view(".test.yaml").size()) + ".yaml";
  }
  Result<std::string> text = yaml::ReadTextFile(policy_path);
  if (!text.ok()) return text.status();
  Diagnostics d(policy_path);
  TestSuite suite;
  suite.policy = ParsePolicy(*text, d, std::move(catalog));
  if (!suite.policy) return d.ToStatus();
  // Reads one `tests:` list, counting the cases it leaves out.
  auto read = [&suite](const yaml::Node& tests, Diagnostics& diagnostics) {
    const std::size_t before = suite.cases.size();
    if (ReadTestCases(tests, *suite.policy, diagnostics, suite.cases)) return;
    const std::size_t added = suite.cases.size() - before;
    suite.malformed += tests.IsSequence() ? tests.items.size() - added : 1;
  };
  std::optional<yaml::Node> root = yaml::Parse(*text, d);
  if (root) {
    if (const yaml::Node* tests = root->Find("tests")) {
      read(*tests, d);
      suite.files.push_back(policy_path);
    }
  }
  std::string errors = d.has_errors() ? d.ToString() : "";

  const std::string sibling = SiblingTestPath(policy_path);
  std::error_code ec;
  if (std::filesystem::exists(sibling, ec)) {
    Diagnostics sd(sibling);
    if (std::optional<yaml::Node> sroot = yaml::ParseFile(sibling, sd)) {
      yaml::MapReader r(*sroot, sd, "a policy test file", {"apiVersion", "kind", "tests"});
      if (r.ok()) {
        if (const yaml::Node* kind = r.Get("kind")) {
          if (auto s = yaml::ReadString(*kind, sd, "kind"); s && *s != "PolicyTest") {
            sd.Error(kind->location,
                     "kind is '" + *s + "'; a policy test file has kind: PolicyTest");
          }
        }
        if (const yaml::Node* tests = r.Require("tests")) {
          read(*tests, sd);
          suite.files.push_back(sibling);
        }
      }
    }
    if (sd.has_errors()) errors += sd.ToString();
  }
  if (!errors.empty() && errors.back() == '\n') errors.pop_back();
  suite.errors = std::move(errors);
  return suite;
}

std::string TestFailure::ToString() const {
  Diagnostic d{Severity::kError, file, location, "test '" + case_name + "' failed: " + message};
  return d.ToString();
}

TestReport RunTests(const Policy& policy, std::span<const TestCase> cases) {
  TestReport report;
  const Catalog& catalog = *policy.catalog();
  for (const TestCase& c : cases) {
    const DecisionInput input = c.state.Input();
    DecisionResult result;
    Decide(policy, input, result);
    const TestExpectation& x = c.expect;
    std::vector<std::string> problems;
    const std::string got_tier = result.ok ? std::string(Name(result.route.tier)) : "no tier";
    if (x.ok && *x.ok != result.ok) {
      problems.push_back(std::string("expected ok: ") + (*x.ok ? "true" : "false") + ", got " +
                         (result.ok ? "true" : "false"));
    }
    if (x.tier && (!result.ok || result.route.tier != *x.tier)) {
      problems.push_back("expected tier " + std::string(Name(*x.tier)) + ", got " + got_tier);
    }
    const std::string got_rule(policy.rule_name(result.rule_index));
    if (x.rule && *x.rule != got_rule) {
      problems.push_back("expected rule '" + *x.rule + "', got '" + got_rule + "'");
    }
    if (x.model) {
      const std::string got = result.ok ? catalog.model(result.route.model).name : "no model";
      if (got != *x.model) problems.push_back("expected model " + *x.model + ", got " + got);
    }
    if (x.fallback) {
      std::vector<Tier> got;
      for (std::size_t i = 0; i < result.fallback_count; ++i)
        got.push_back(result.fallback[i].tier);
      if (got != *x.fallback) {
        problems.push_back("expected fallback " + TierList(*x.fallback) + ", got " + TierList(got));
      }
    }
    if (x.deadline_ms && *x.deadline_ms != result.deadline_ms) {
      problems.push_back("expected deadline_ms " + std::to_string(*x.deadline_ms) + ", got " +
                         std::to_string(result.deadline_ms));
    }
    if (x.guards) {
      std::vector<std::string> got;
      for (std::size_t g = 0; g < policy.guard_count(); ++g) {
        if (result.guards_applied & (std::uint32_t{1} << g)) {
          got.emplace_back(policy.guard_name(g));
        }
      }
      std::vector<std::string> want = *x.guards;
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      if (want != got) {
        problems.push_back("expected guards " + NameList(want) + ", got " + NameList(got));
      }
    }
    if (problems.empty()) {
      ++report.passed;
      continue;
    }
    ++report.failed;
    std::string message;
    for (const std::string& p : problems) {
      if (!message.empty()) message += "; ";
      message += p;
    }
    message += " (decision: " + got_tier;
    if (result.ok) message += " " + catalog.model(result.route.model).name;
    message += ", rule '" + got_rule + "')";
    report.failures.push_back({c.name, c.file, c.location, std::move(message)});
  }
  return report;
}

}  // namespace partita::policy
