// docs/policies.md's worked example is real: the policy in it loads and lints clean, its test
// cases pass, the decision on its state is the one the page states, and the explain output
// printed on the page is what `partita policy explain` prints.
#include <doctest/doctest.h>

#include "policies/explain.h"
#include "policies/lint.h"
#include "policies/test_runner.h"
#include "tests/policies/policy_testing.h"
#include "tests/testing/temp_dir.h"

namespace partita::policy {
namespace {

// The fenced blocks (```LANG ... ```) after `heading`, in order.
std::vector<std::string> Blocks(const std::string& doc, const std::string& heading) {
  std::vector<std::string> out;
  std::size_t at = doc.find(heading);
  REQUIRE(at != std::string::npos);
  while ((at = doc.find("```", at)) != std::string::npos) {
    const std::size_t body = doc.find('\n', at) + 1;
    const std::size_t end = doc.find("```", body);
    if (end == std::string::npos) break;
    out.push_back(doc.substr(body, end - body));
    at = end + 3;
  }
  return out;
}

TEST_CASE("The worked example in docs/policies.md loads, lints clean and decides as stated") {
  const std::string doc = testing::ReadSourceFile("docs/policies.md");
  const std::vector<std::string> blocks = Blocks(doc, "## Worked example");
  REQUIRE(blocks.size() >= 3);
  const std::string& policy_text = blocks[0];
  const std::string& state_text = blocks[1];

  Diagnostics d("home.yaml");
  PolicyPtr policy = LintPolicy(policy_text, d);
  REQUIRE_MESSAGE(policy, d.ToString());
  CHECK_MESSAGE(d.all().empty(), d.ToString());
  CHECK(policy->name() == "home");

  testing::TempDir dir;
  Result<TestSuite> suite = LoadTestSuite(dir.Write("home.yaml", policy_text));
  REQUIRE_MESSAGE(suite.ok(), suite.status().message());
  CHECK(suite->cases.size() == 2);
  TestReport report = RunTests(*suite->policy, suite->cases);
  CHECK(report.passed == 2);
  CHECK(report.failed == 0);

  // The README's `policy explain` command uses the same state, shipped in examples/states/.
  const std::string shipped = testing::ReadSourceFile("examples/states/drained-phone.yaml");
  CHECK(shipped.ends_with(state_text));

  const DecisionState state = fixtures::State(state_text);
  const DecisionInput input = state.Input();
  DecisionResult r;
  Decide(*policy, input, r);
  REQUIRE(r.ok);
  CHECK(policy->rule_name(r.rule_index) == "low-battery-offload");
  CHECK(r.route == Route{Tier::kCloud, fixtures::Model("milm-70b-moe")});
  CHECK(r.deadline_ms == 3000);
  REQUIRE(r.fallback_count == 1);
  CHECK(r.fallback[0] == Route{Tier::kDevice, fixtures::Model("milm-1.3b")});

  // The page shows the command's real output.
  const std::string& shown = blocks[2];
  const std::string command =
      "$ partita policy explain --policy home.yaml --state drained-phone.yaml\n";
  REQUIRE(shown.starts_with(command));
  CHECK(shown.substr(command.size()) ==
        "state drained-phone.yaml\n" + ExplanationText(*policy, input, Explain(*policy, input)));
}

}  // namespace
}  // namespace partita::policy
