#include "policies/lint.h"

#include <doctest/doctest.h>

#include "tests/policies/policy_testing.h"

namespace partita::policy {
namespace {

using fixtures::PolicyText;

std::string Lint(const std::string& text) {
  Diagnostics d("p.yaml");
  LintPolicy(text, d);
  return d.ToString();
}

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("Lint reports what the loader reports: syntax, unknown keys, types") {
  CHECK(Has(Lint("spec: [\n"), "p.yaml:2:1: error: YAML syntax"));
  CHECK(Lint(PolicyText("  defaults: {dedline_ms: 100}\n  rules: [{name: a, route: device}]\n")) ==
        "p.yaml:5:14: error: unknown key 'dedline_ms' in defaults; did you mean 'deadline_ms'?\n");
}

TEST_CASE("A clean policy has no findings") {
  CHECK(Lint(PolicyText(R"(  guards:
    - {name: private-home, when: {request.privacy: private}, never: [cloud]}
  defaults: {fallback: [phone, device]}
  objective: {latency_ms: 1}
  rules:
    - {name: private, when: {request.privacy: private}, route: device}
    - {name: low, when: {device.battery_pct: {lt: 20}}, route: cloud, fallback: [phone]}
    - {name: rest, route: best}
)")) == "");
}

TEST_CASE("Duplicate rule and guard names") {
  const std::string out = Lint(PolicyText(R"(  guards:
    - {name: g, when: {time.hour: 1}, never: [cloud]}
    - {name: g, when: {time.hour: 2}, never: [phone]}
  rules:
    - {name: a, when: {time.hour: 3}, route: device}
    - {name: a, when: {time.hour: 4}, route: device}
    - {name: rest, route: device}
)"));
  CHECK(Has(out,
            "p.yaml:10:7: error: duplicate rule name 'a' (first at line 9); decision logs "
            "and metrics count rules by name"));
  CHECK(Has(out, "p.yaml:7:7: error: duplicate guard name 'g' (first at line 6)"));
}

TEST_CASE("Unreachable rules: after a catch-all, implied by an earlier rule, covered together") {
  const std::string out = Lint(PolicyText(R"(  rules:
    - {name: low, when: {device.battery_pct: {lt: 20}}, route: cloud}
    - {name: lower, when: {device.battery_pct: {lt: 10}, device.charging: false}, route: phone}
    - {name: wifi-or-wired, when: {network.type: {in: [wifi, ethernet]}}, route: cloud}
    - {name: wifi, when: {network.type: wifi, request.kind: chat}, route: device}
    - {name: not-so-low, when: {device.battery_pct: {lt: 30}}, route: device}
    - {name: private, when: {request.privacy: private}, route: device}
    - {name: not-private, when: {request.privacy: {ne: private}}, route: device}
    - {name: anything, when: {time.hour: 3}, route: device}
)"));
  CHECK(Has(out,
            "p.yaml:7:7: error: rule 'lower' can never match: rule 'low' (line 6) matches "
            "every request it would"));
  CHECK(Has(out,
            "p.yaml:9:7: error: rule 'wifi' can never match: rule 'wifi-or-wired' (line 8) "
            "matches every request it would"));
  CHECK(!Has(out, "'not-so-low' can never match"));  // battery 20..30 still reaches it
  CHECK(Has(out,
            "p.yaml:13:7: error: rule 'anything' can never match: the rules above it "
            "together match every request it would"));
  // The last two rules together are a catch-all: no "no catch-all" error.
  CHECK(!Has(out, "no rule matches every request"));

  const std::string after = Lint(PolicyText(R"(  rules:
    - {name: all, route: device}
    - {name: never, when: {time.hour: 3}, route: cloud}
)"));
  CHECK(after ==
        "p.yaml:7:7: error: rule 'never' can never match: rule 'all' (line 6) matches "
        "every request\n");
}

TEST_CASE("Rules whose own conditions contradict, and a condition always true over its range") {
  const std::string out = Lint(PolicyText(R"(  rules:
    - {name: d, when: {device.battery_pct: {gt: 50, lt: 40}}, route: device}
    - {name: e, when: {request.difficulty: {gt: 1}}, route: device}
    - {name: f, when: {any: [{device.thermal: {lt: nominal}}, {time.hour: {gt: 30}}]}, route: device}
    - {name: everything, when: {device.battery_pct: {gte: 0}}, route: device}
)"));
  CHECK(Has(out,
            "p.yaml:6:7: error: rule 'd' can never match: its conditions on "
            "device.battery_pct are never true together"));
  CHECK(Has(out,
            "p.yaml:7:45: warning: 'request.difficulty > 1' is never true "
            "(request.difficulty is between 0 and 1)"));
  CHECK(Has(out, "p.yaml:7:7: error: rule 'e' can never match"));
  CHECK(Has(out,
            "p.yaml:8:7: error: rule 'f' can never match: its conditions are never true "
            "together"));
  CHECK(Has(out, "warning: 'device.thermal < nominal' is never true"));
  CHECK(Has(out,
            "p.yaml:9:54: warning: 'device.battery_pct >= 0' is always true "
            "(device.battery_pct is between 0 and 100)"));
  // The always-true rule is a catch-all.
  CHECK(!Has(out, "no rule matches every request"));
}

TEST_CASE("No catch-all rule and no defaults.route") {
  const std::string rules = "  rules:\n    - {name: a, when: {time.hour: 3}, route: device}\n";
  CHECK(Lint(PolicyText(rules)) ==
        "p.yaml:5:3: error: no rule matches every request and there is no defaults.route: a "
        "request that matches no rule is only tried on defaults.fallback. Add a last rule "
        "without 'when' (a catch-all) or set defaults.route\n");
  CHECK(Lint(PolicyText("  defaults: {route: device}\n" + rules)) == "");
  // Conditions that cover every value make a catch-all too.
  CHECK(Lint(PolicyText(rules + "    - {name: b, when: {any: [{time.hour: {lt: 12}}, "
                                "{time.hour: {gte: 12}}]}, route: cloud}\n")) == "");
}

constexpr const char* kGuard = R"(  guards:
    - name: private-home
      when: {request.privacy: private}
      never: [cloud]
)";

TEST_CASE("A rule that only matches guarded requests and routes to a forbidden tier is an error") {
  const std::string out = Lint(PolicyText(std::string(kGuard) + R"(  rules:
    - name: leak
      when: {request.privacy: private, request.difficulty: {gt: 0.5}}
      route: cloud
      fallback: [phone, cloud]
    - {name: rest, route: device, fallback: []}
)"));
  CHECK(Has(out,
            "p.yaml:12:14: error: rule 'leak' routes to cloud, but guard 'private-home' "
            "forbids cloud for every request this rule matches"));
  CHECK(Has(out,
            "p.yaml:13:25: error: rule 'leak' falls back to cloud, but guard "
            "'private-home' forbids cloud for every request this rule matches"));
}

TEST_CASE("A rule that merely overlaps a guard gets a warning, an earlier rule can shadow it") {
  const std::string overlap = Lint(PolicyText(std::string(kGuard) + R"(  rules:
    - name: low-battery
      when: {device.battery_pct: {lt: 20}}
      route: cloud
      fallback: [cloud, phone]
    - {name: rest, route: device, fallback: []}
)"));
  CHECK(Has(overlap,
            "p.yaml:12:14: warning: rule 'low-battery' routes to cloud, which guard "
            "'private-home' forbids when request.privacy == private; such requests it "
            "matches go to its fallback instead"));
  CHECK(Has(overlap,
            "p.yaml:13:18: warning: rule 'low-battery' falls back to cloud, which "
            "guard 'private-home' forbids where request.privacy == private"));
  CHECK(!Has(overlap, "error"));

  // Private requests are caught first: nothing guarded ever reaches the cloud rule.
  CHECK(Lint(PolicyText(std::string(kGuard) + R"(  rules:
    - {name: private, when: {request.privacy: private}, route: device, fallback: [phone]}
    - {name: low-battery, when: {device.battery_pct: {lt: 20}}, route: cloud, fallback: [phone]}
    - {name: rest, route: device, fallback: []}
)")) == "");
  // A rule that excludes the guarded requests itself is fine too.
  CHECK(Lint(PolicyText(std::string(kGuard) + R"(  rules:
    - name: low-battery
      when: {device.battery_pct: {lt: 20}, request.privacy: {in: [public, normal]}}
      route: cloud
    - {name: rest, route: device, fallback: []}
)")) == "");
}

TEST_CASE("Inherited fallbacks and defaults are checked against guards too") {
  const std::string inherited =
      Lint(PolicyText(std::string(kGuard) + R"(  defaults: {fallback: [cloud, device]}
  rules:
    - {name: private, when: {request.privacy: private}, route: device}
    - {name: rest, route: cloud}
)"));
  CHECK(Has(inherited,
            "p.yaml:11:7: error: rule 'private' falls back to cloud, but guard "
            "'private-home' forbids cloud for every request this rule matches (the "
            "fallback comes from defaults.fallback; give the rule its own fallback)"));
  // Overlap through an inherited fallback is the normal case: guards filter it, no warning.
  CHECK(!Has(inherited, "'rest' falls back"));

  const std::string always = Lint(PolicyText(R"(  guards:
    - {name: air-gapped, never: [cloud]}
  defaults: {fallback: [phone, cloud]}
  rules:
    - {name: rest, route: device}
)"));
  CHECK(Has(always,
            "p.yaml:7:32: error: defaults.fallback names cloud, which guard 'air-gapped' "
            "forbids for every request"));

  const std::string route = Lint(PolicyText(std::string(kGuard) + R"(  defaults: {route: cloud}
  rules:
    - {name: public, when: {request.privacy: public}, route: device}
)"));
  CHECK(Has(route,
            "p.yaml:9:21: warning: defaults.route is cloud, which guard 'private-home' "
            "forbids where request.privacy == private"));
}

TEST_CASE("Guards that never apply or forbid everything, and objective and fallback hints") {
  const std::string out = Lint(PolicyText(R"(  guards:
    - {name: never, when: {time.hour: {gt: 24}}, never: [cloud]}
    - {name: everything, when: {time.hour: 3}, never: [device, phone, cloud]}
  defaults: {fallback: [cloud, phone, cloud]}
  rules:
    - {name: rest, route: best}
)"));
  CHECK(Has(out, "p.yaml:6:7: warning: guard 'never' can never apply"));
  CHECK(Has(out, "p.yaml:7:55: warning: guard 'everything' forbids every tier"));
  CHECK(Has(out, "p.yaml:8:39: warning: fallback lists cloud twice"));
  CHECK(Has(out, "p.yaml:10:27: warning: route: best with no spec.objective"));
}

TEST_CASE("Lint checks the test cases kept in the file") {
  const std::string out = Lint(PolicyText("  rules:\n    - {name: rest, route: device}\n") +
                               R"(tests:
  - name: bad
    state: {device: {batery_pct: 3}}
    expect: {rule: res, tier: clod}
  - name: empty
    expect: {}
)");
  CHECK(Has(out,
            "p.yaml:9:22: error: unknown key 'batery_pct' in device; did you mean "
            "'battery_pct'?"));
  CHECK(Has(out, "p.yaml:10:31: error: unknown value 'clod' for 'tier'"));
  CHECK(Has(out,
            "p.yaml:10:20: error: 'rule' names rule 'res', which the policy does not have; "
            "did you mean 'rest'?"));
  CHECK(Has(out, "p.yaml:12:13: error: 'expect' is empty"));
}

TEST_CASE("A type error does not hide the other problems of the file") {
  const std::string text = PolicyText(R"(  rules:
    - name: a
      when: {device.battery_pct: high}
      route: device
    - {name: b, when: {request.difficulty: {gt: 0.5}}, route: cloud}
    - {name: b, route: device}
    - {name: c, when: {request.kind: chat}, route: device}
)");
  Diagnostics d("p.yaml");
  CHECK(LintPolicy(text, d) == nullptr);  // it does not load
  const std::string found = d.ToString();
  CHECK(Has(found, "p.yaml:7:34: error: expected a number for 'device.battery_pct', got 'high'"));
  CHECK(Has(found, "p.yaml:10:7: error: duplicate rule name 'b' (first at line 9)"));
  CHECK(Has(found,
            "p.yaml:11:7: error: rule 'c' can never match: rule 'b' (line 10) matches "
            "every request"));
  CHECK(d.error_count() == 3);
}

TEST_CASE(
    "A rule that does not compile neither shadows later rules nor hides a missing catch-all") {
  Diagnostics d("p.yaml");
  LintPolicy(PolicyText(R"(  rules:
    - {name: a, whn: {request.kind: chat}, route: device}
    - {name: b, when: {request.kind: chat}, route: device}
    - {name: c, when: {request.difficulty: {gt: 2}}, route: cloud}
)"),
             d);
  const std::string found = d.ToString();
  CHECK(Has(found, "p.yaml:6:17: error: unknown key 'whn' in rule 1; did you mean 'when'?"));
  CHECK(Has(found, "'request.difficulty > 2' is never true"));
  CHECK(Has(found, "rule 'c' can never match"));
  // Rule a's conditions are unknown: b is not reported unreachable, and whether a catch-all is
  // missing cannot be told.
  CHECK(!Has(found, "rule 'b' can never match"));
  CHECK(!Has(found, "no rule matches every request"));
}

}  // namespace
}  // namespace partita::policy
