#include "policies/loader.h"

#include <doctest/doctest.h>

#include "common/hash.h"
#include "tests/policies/policy_testing.h"
#include "tests/testing/temp_dir.h"

namespace partita::policy {
namespace {

using fixtures::Load;
using fixtures::LoadErrors;
using fixtures::PolicyText;

TEST_CASE("A policy keeps its name, source, version, rules and guards") {
  const std::string text = PolicyText(R"(  guards:
    - {when: {request.privacy: private}, never: [cloud]}
    - name: no-phone-at-night
      when: {time.hour: {between: [0, 6]}}
      never: phone
  defaults: {deadline_ms: 2500}
  rules:
    - name: first
      when: {device.battery_pct: {lt: 20}}
      route: cloud
    - name: rest
      route: device
)");
  PolicyPtr p = Load(text);
  CHECK(p->name() == "test");
  CHECK(p->source() == text);
  CHECK(p->version() == Sha256Hex(text));
  CHECK(p->file() == "test.yaml");
  CHECK(p->rule_count() == 2);
  CHECK(p->rule_name(0) == "first");
  CHECK(p->rule_name(1) == "rest");
  CHECK(p->rule_name(-1) == "(defaults)");
  CHECK(p->FindRule("rest") == 1);
  CHECK(p->FindRule("nope") == -1);
  CHECK(p->guard_count() == 2);
  CHECK(p->guard_name(0) == "guard-1");
  CHECK(p->guard_name(1) == "no-phone-at-night");
  CHECK(p->default_deadline_ms() == 2500);
  CHECK(p->catalog() == DefaultCatalog());
}

TEST_CASE("The deadline defaults to 5000 ms and a tests list is accepted") {
  PolicyPtr p = Load(PolicyText("  rules:\n    - {name: all, route: device}\n") +
                     "tests:\n  - {name: x, expect: {tier: device}}\n");
  CHECK(p->default_deadline_ms() == 5000);
}

TEST_CASE("Located errors: header, unknown keys and fields with did-you-mean") {
  CHECK(LoadErrors("apiVersion: partita/v2\nkind: Polcy\nmetadata: {name: x}\nspec: {}\n") ==
        "test.yaml:1:13: error: unsupported apiVersion 'partita/v2'; expected partita/v1\n"
        "test.yaml:2:7: error: kind is 'Polcy'; a policy file has kind: Policy\n");
  CHECK(LoadErrors(PolicyText("  rulez: []\n")) ==
        "test.yaml:5:3: error: unknown key 'rulez' in spec; did you mean 'rules'?\n");
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      when: {device.batery_pct: {lt: 20}}
      route: cloud
)")) == "test.yaml:7:14: error: unknown field 'device.batery_pct'; did you mean "
        "'device.battery_pct'?\n");
  // A field without its prefix is suggested too.
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      when: {battery_pct: {lt: 20}}
      route: cloud
)")) == "test.yaml:7:14: error: unknown field 'battery_pct'; did you mean "
        "'device.battery_pct'?\n");
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      rute: cloud
)")) == "test.yaml:7:7: error: unknown key 'rute' in rule 1; did you mean 'route'?\n"
        "test.yaml:6:7: error: missing required key 'route' in rule 1\n");
}

TEST_CASE("Located errors: operators, tiers, models, values and types") {
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      when: {request.difficulty: {lessthan: 0.3}}
      route: device
)")) == "test.yaml:7:35: error: unknown operator 'lessthan' for 'request.difficulty'; "
        "expected eq, ne, lt, lte, gt, gte, in, not_in, contains or between\n");
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      route: clod
      fallback: [phone, devcie]
)")) == "test.yaml:7:14: error: unknown value 'clod' for 'route'; expected device, phone, "
        "cloud or best; did you mean 'cloud'?\n"
        "test.yaml:8:25: error: unknown value 'devcie' for 'fallback'; expected device, phone "
        "or cloud; did you mean 'device'?\n");
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      when: {device.models: {contains: milm-13b}}
      route: device
      model: milm-70b-moe
)")) == "test.yaml:7:40: error: unknown model 'milm-13b' for 'device.models'; did you mean "
        "'milm-1.3b'?\n"
        "test.yaml:9:14: error: model 'milm-70b-moe' cannot run on the device tier: no device "
        "class in the catalog runs it\n");
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      when: {device.battery_pct: {lt: low}, device.charging: yes, network.type: wlan}
      route: device
)")) == "test.yaml:7:39: error: expected a number for 'device.battery_pct', got 'low'\n"
        "test.yaml:7:62: error: expected true or false for 'device.charging', got 'yes'\n"
        "test.yaml:7:81: error: unknown value 'wlan' for 'network.type'; expected offline, "
        "wifi, cellular or ethernet\n");
  CHECK(LoadErrors(PolicyText(R"(  rules:
    - name: a
      when: {device.profile: phone-md, device.class: speeker}
      route: device
)")) == "test.yaml:7:30: error: unknown device profile 'phone-md' for 'device.profile'; "
        "expected smart-speaker, phone-mid, phone-flagship, car or watch; did you mean "
        "'phone-mid'?\n"
        "test.yaml:7:54: error: unknown device class 'speeker' for 'device.class'; expected "
        "speaker, phone, car or watch; did you mean 'speaker'?\n");
}

TEST_CASE("Located errors: operators that do not fit the field's type") {
  const std::string errors = LoadErrors(PolicyText(R"(  rules:
    - name: a
      when:
        device.battery_pct: {contains: 3}
        network.type: {lt: wifi}
        device.charging: {in: [true]}
        device.models: {ne: milm-1.3b}
        request.kind: [chat, command]
        request.difficulty: {between: [0.8, 0.2]}
        time.hour: {in: []}
      route: device
)"));
  CHECK(errors ==
        "test.yaml:8:30: error: operator 'contains' does not apply to 'device.battery_pct': "
        "compare it with eq, ne, lt, lte, gt, gte, in, not_in or between\n"
        "test.yaml:9:24: error: operator 'lt' does not apply to 'network.type': its values "
        "have no order; use a value, ne, in or not_in\n"
        "test.yaml:10:27: error: operator 'in' does not apply to 'device.charging': it is true "
        "or false; use a value or ne\n"
        "test.yaml:11:25: error: operator 'ne' does not apply to 'device.models': it is a set "
        "of models; test it with {contains: MODEL} or {contains: [MODEL, ...]} (all of them)\n"
        "test.yaml:12:23: error: a list is not one value for 'request.kind'; to match any of "
        "them write {in: [...]}\n"
        "test.yaml:13:39: error: 'between' for 'request.difficulty' has LOW 0.8 above HIGH "
        "0.2\n"
        "test.yaml:14:25: error: 'in' needs at least one value\n");
}

TEST_CASE("Located errors: guards, defaults, require and deadlines") {
  CHECK(LoadErrors(PolicyText(R"(  guards:
    - {when: {request.privacy: private}, never: []}
  defaults: {deadline_ms: 0, models: {device: milm-70b-moe}}
  rules:
    - name: a
      route: best
      deadline_ms: 900000
      require: {quality: 0.6, latency: {lte: 100}}
)")) == "test.yaml:7:27: error: 'deadline_ms' is 0; it must be between 1 and 600000 (ten "
        "minutes)\n"
        "test.yaml:7:47: error: model 'milm-70b-moe' cannot run on the device tier: no device "
        "class in the catalog runs it\n"
        "test.yaml:6:49: error: 'never' lists no tier; name the tiers this guard forbids\n"
        "test.yaml:11:20: error: 'deadline_ms' is 900000; it must be between 1 and 600000 (ten "
        "minutes)\n"
        "test.yaml:12:31: error: unknown key 'latency' in require; did you mean 'latency_ms'?\n"
        "test.yaml:12:26: error: expected a comparison for 'require.quality', like {gte: 0.6} "
        "or {lte: 1500}\n");
}

TEST_CASE("Bad YAML gets a located error, never a crash") {
  CHECK(LoadErrors("spec: [unclosed\n").starts_with("test.yaml:2:1: error: YAML syntax"));
  CHECK(LoadErrors("a: &x 1\nb: *x\n").find("alias") != std::string::npos);
  std::string deep = PolicyText("  rules:\n    - name: a\n      route: device\n      when: ");
  for (int i = 0; i < 80; ++i) deep += "{not: ";
  deep += "{time.hour: 1}";
  for (int i = 0; i < 80; ++i) deep += "}";
  CHECK(LoadErrors(deep + "\n").find("nesting") != std::string::npos);
  CHECK(LoadErrors(std::string(9u << 20, '#')).find("the limit is") != std::string::npos);
  CHECK(LoadErrors("").find("expected a map for the policy, got nothing") != std::string::npos);
  CHECK(LoadErrors("[1, 2]").find("test.yaml:1:1: error: expected a map for the policy") !=
        std::string::npos);
  CHECK(LoadErrors(PolicyText("  rules: {a: 1}\n")) ==
        "test.yaml:5:10: error: expected a list of rules for 'rules', got a map\n");
}

TEST_CASE("Deeply nested but legal combinators load") {
  std::string nested = PolicyText("  rules:\n    - name: a\n      route: device\n      when: ");
  for (int i = 0; i < 20; ++i) nested += "{not: ";
  nested += "{time.hour: 1}";
  for (int i = 0; i < 20; ++i) nested += "}";
  PolicyPtr p = Load(nested + "\n");
  CHECK(p->rule_count() == 1);
}

TEST_CASE("LoadPolicyFile reads a file and reports a missing one") {
  testing::TempDir dir;
  const std::string path =
      dir.Write("p.yaml", PolicyText("  rules:\n    - {name: all, route: device}\n"));
  Result<PolicyPtr> p = LoadPolicyFile(path);
  REQUIRE(p.ok());
  CHECK((*p)->file() == path);
  Result<PolicyPtr> missing = LoadPolicyFile(dir.File("nope.yaml"));
  CHECK(!missing.ok());
  CHECK(missing.status().message().find("nope.yaml") != std::string::npos);
  const std::string bad = dir.Write("bad.yaml", PolicyText("  rules: [{name: a, route: x}]\n"));
  Result<PolicyPtr> broken = LoadPolicyFile(bad);
  REQUIRE(!broken.ok());
  INFO(broken.status().message());
  CHECK(broken.status().message().starts_with(bad + ":5:28: error: unknown value 'x'"));
}

}  // namespace
}  // namespace partita::policy
