#include "policies/test_runner.h"

#include <doctest/doctest.h>

#include "tests/policies/policy_testing.h"
#include "tests/testing/temp_dir.h"

namespace partita::policy {
namespace {

using fixtures::PolicyText;

const std::string kPolicy = PolicyText(R"(  guards:
    - {name: private-home, when: {request.privacy: private}, never: [cloud]}
  defaults: {fallback: [phone, device], deadline_ms: 3000}
  rules:
    - {name: private, when: {request.privacy: private}, route: device, fallback: [phone]}
    - {name: hard, when: {request.difficulty: {gte: 0.7}}, route: cloud, model: milm-70b-moe}
    - {name: rest, route: device}
)");

TEST_CASE("Test cases pass and fail by every expectation, with counts and locations") {
  testing::TempDir dir;
  const std::string path = dir.Write("p.yaml", kPolicy + R"(tests:
  - name: hard goes to the cloud
    state: {request: {difficulty: 0.9}, peer: {phone_available: true}}
    expect: {tier: cloud, rule: hard, model: milm-70b-moe, fallback: [phone, device], ok: true}
  - name: private stays home
    state: {request: {privacy: private}}
    expect: {tier: device, guards: [private-home], deadline_ms: 3000, fallback: []}
  - name: wrong tier
    state: {request: {difficulty: 0.9}}
    expect: {tier: device}
  - name: wrong rule and model
    expect: {rule: hard, model: milm-7b-moe}
  - name: wrong fallback, guards, deadline and ok
    state: {request: {privacy: private}}
    expect: {fallback: [cloud], guards: [], deadline_ms: 10, ok: false}
)");
  Result<TestSuite> suite = LoadTestSuite(path);
  REQUIRE_MESSAGE(suite.ok(), suite.status().message());
  REQUIRE(suite->cases.size() == 5);
  CHECK(suite->files == std::vector<std::string>{path});
  TestReport report = RunTests(*suite->policy, suite->cases);
  std::string all;
  for (const TestFailure& f : report.failures) all += f.ToString() + "\n";
  INFO(all);
  CHECK(report.passed == 2);
  CHECK(report.failed == 3);
  REQUIRE(report.failures.size() == 3);
  CHECK(report.failures[0].ToString() ==
        path +
            ":19:5: error: test 'wrong tier' failed: expected tier device, got cloud "
            "(decision: cloud milm-70b-moe, rule 'hard')");
  CHECK(report.failures[1].ToString() ==
        path +
            ":22:5: error: test 'wrong rule and model' failed: expected rule 'hard', got "
            "'rest'; expected model milm-7b-moe, got milm-1.3b (decision: device milm-1.3b, "
            "rule 'rest')");
  CHECK(report.failures[2].ToString() ==
        path +
            ":24:5: error: test 'wrong fallback, guards, deadline and ok' failed: expected "
            "ok: false, got true; expected fallback [cloud], got []; expected deadline_ms "
            "10, got 3000; expected guards [], got [private-home] (decision: device "
            "milm-1.3b, rule 'private')");
}

TEST_CASE("A sibling NAME.test.yaml is found from the policy or named directly") {
  testing::TempDir dir;
  const std::string path = dir.Write("p.yaml", kPolicy + R"(tests:
  - {name: inline, expect: {rule: rest}}
)");
  const std::string sibling = dir.Write("p.test.yaml", R"(apiVersion: partita/v1
kind: PolicyTest
tests:
  - name: from the sibling
    state: {request: {difficulty: 0.7}}
    expect: {rule: hard}
  - name: failing in the sibling
    expect: {rule: private}
)");
  CHECK(SiblingTestPath(path) == sibling);
  CHECK(SiblingTestPath("dir/x.yml") == "dir/x.test.yaml");
  for (const std::string& name : {path, sibling}) {
    Result<TestSuite> suite = LoadTestSuite(name);
    REQUIRE_MESSAGE(suite.ok(), suite.status().message());
    CHECK(suite->cases.size() == 3);
    CHECK(suite->files == std::vector<std::string>{path, sibling});
    TestReport report = RunTests(*suite->policy, suite->cases);
    CHECK(report.passed == 2);
    CHECK(report.failed == 1);
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].file == sibling);
    CHECK(report.failures[0].location.line == 7);
  }
}

TEST_CASE("Malformed test files are located errors") {
  testing::TempDir dir;
  const std::string path = dir.Write("p.yaml", kPolicy);
  dir.Write("p.test.yaml", "kind: Policy\ntests:\n  - name: x\n    expect: {rule: hart}\n");
  Result<TestSuite> suite = LoadTestSuite(path);
  REQUIRE(suite.ok());
  const std::string sibling = dir.File("p.test.yaml");
  CHECK(suite->errors ==
        sibling + ":1:7: error: kind is 'Policy'; a policy test file has kind: PolicyTest\n" +
            sibling +
            ":4:20: error: 'rule' names rule 'hart', which the policy does not have; did you "
            "mean 'hard'?");
  CHECK(suite->malformed == 1);
  CHECK(suite->cases.empty());
  // A policy that does not load is reported first.
  const std::string broken = dir.Write("broken.yaml", PolicyText("  rules: 3\n"));
  Result<TestSuite> b = LoadTestSuite(broken);
  REQUIRE(!b.ok());
  CHECK(b.status().message() ==
        broken + ":5:10: error: expected a list of rules for 'rules', got a value");
}

TEST_CASE("A malformed case is reported with a did-you-mean and the other cases still run") {
  testing::TempDir dir;
  const std::string path = dir.Write("p.yaml", kPolicy);
  dir.Write("p.test.yaml",
            "tests:\n"
            "  - name: typo\n"
            "    state: {device: {battry: 12}}\n"
            "    expect: {tier: cloud}\n"
            "  - name: hard goes to the cloud\n"
            "    state: {request: {difficulty: 0.9}}\n"
            "    expect: {rule: hard}\n");
  Result<TestSuite> suite = LoadTestSuite(path);
  REQUIRE_MESSAGE(suite.ok(), suite.status().message());
  CHECK(suite->errors == dir.File("p.test.yaml") +
                             ":3:22: error: unknown key 'battry' in device; did you mean "
                             "'battery_pct'?");
  CHECK(suite->malformed == 1);
  REQUIRE(suite->cases.size() == 1);
  CHECK(suite->cases[0].name == "hard goes to the cloud");
  const TestReport report = RunTests(*suite->policy, suite->cases);
  CHECK(report.passed == 1);
  CHECK(report.failed == 0);
  for (const TestFailure& f : report.failures) MESSAGE(f.ToString());
}

}  // namespace
}  // namespace partita::policy
