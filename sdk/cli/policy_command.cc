// `partita policy lint|test|explain`: the policy author's tools (docs/policies.md).
#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/yaml_tree.h"
#include "policies/explain.h"
#include "policies/lint.h"
#include "policies/loader.h"
#include "policies/state_file.h"
#include "policies/test_runner.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

namespace {

struct PolicyArgs {
  std::vector<std::string> files;
  std::string catalog;
  std::string policy;
  std::string state;
  bool json = false;
  bool verbose = false;
};

std::string Plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

bool LoadCatalog(const std::string& path, CatalogPtr& out) {
  Result<CatalogPtr> catalog = LoadCatalogOrDefault(path);
  if (!catalog.ok()) {
    PrintError(catalog.status().message());
    return false;
  }
  out = *catalog;
  return true;
}

int Lint(const PolicyArgs& args) {
  CatalogPtr catalog;
  if (!LoadCatalog(args.catalog, catalog)) return 1;
  std::size_t errors = 0, warnings = 0, bad_files = 0;
  for (const std::string& file : args.files) {
    Diagnostics d(file);
    Result<std::string> text = yaml::ReadTextFile(file);
    if (!text.ok()) {
      d.Error({}, text.status().message());
    } else {
      policy::PolicyPtr p = policy::LintPolicy(*text, d, catalog);
      if (d.all().empty() && p) {
        std::printf("%s: ok (%s, %s)\n", file.c_str(), Plural(p->rule_count(), "rule").c_str(),
                    Plural(p->guard_count(), "guard").c_str());
      }
    }
    // In file order, as an editor walks them.
    std::vector<Diagnostic> found = d.all();
    std::stable_sort(found.begin(), found.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(a.location.line, a.location.column) <
             std::pair(b.location.line, b.location.column);
    });
    for (const Diagnostic& item : found) std::printf("%s\n", item.ToString().c_str());
    errors += d.error_count();
    warnings += d.warning_count();
    if (d.has_errors()) ++bad_files;
  }
  std::fflush(stdout);
  if (errors > 0) {
    PrintError(Plural(errors, "error") + " and " + Plural(warnings, "warning") + " in " +
               Plural(bad_files, "file") + "; fix the errors above and lint again");
    return 1;
  }
  if (warnings > 0) std::printf("%s, no errors\n", Plural(warnings, "warning").c_str());
  return 0;
}

int Test(const PolicyArgs& args) {
  CatalogPtr catalog;
  if (!LoadCatalog(args.catalog, catalog)) return 1;
  std::size_t passed = 0, failed = 0, malformed = 0;
  bool broken = false;
  for (const std::string& file : args.files) {
    Result<policy::TestSuite> suite = policy::LoadTestSuite(file, catalog);
    if (!suite.ok()) {
      std::printf("%s\n", suite.status().message().c_str());
      broken = true;
      continue;
    }
    // Malformed cases are reported and left out; the others still run.
    if (!suite->errors.empty()) {
      std::printf("%s\n", suite->errors.c_str());
      broken = true;
      malformed += suite->malformed;
    }
    if (suite->cases.empty()) {
      if (suite->errors.empty()) {
        std::printf("%s: error: no test cases; add a 'tests:' list to the policy or write %s\n",
                    file.c_str(), policy::SiblingTestPath(file).c_str());
      }
      broken = true;
      continue;
    }
    policy::TestReport report = policy::RunTests(*suite->policy, suite->cases);
    for (const policy::TestFailure& f : report.failures) std::printf("%s\n", f.ToString().c_str());
    if (args.verbose || report.failed == 0) {
      std::printf("%s: %zu passed, %zu failed\n", suite->policy->file().c_str(), report.passed,
                  report.failed);
    }
    passed += report.passed;
    failed += report.failed;
  }
  std::printf("%zu passed, %zu failed", passed, failed);
  if (malformed > 0) std::printf(", %zu malformed (not run)", malformed);
  std::printf("\n");
  std::fflush(stdout);
  if (broken) {
    PrintError("some policies, test files or test cases did not load; see the errors above");
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

int Explain(const PolicyArgs& args) {
  CatalogPtr catalog;
  if (!LoadCatalog(args.catalog, catalog)) return 1;
  Result<policy::PolicyPtr> p = policy::LoadPolicyFile(args.policy, catalog);
  if (!p.ok()) {
    PrintError("cannot load the policy:\n" + p.status().message());
    return 1;
  }
  Result<policy::DecisionState> state = policy::LoadStateFile(args.state, *catalog);
  if (!state.ok()) {
    PrintError("cannot load the state:\n" + state.status().message());
    return 1;
  }
  const policy::DecisionInput input = state->Input();
  const policy::Explanation e = policy::Explain(**p, input);
  if (args.json) {
    std::printf("%s\n", policy::ExplanationJson(**p, input, e).c_str());
  } else {
    std::printf("state %s\n%s", args.state.c_str(), policy::ExplanationText(**p, input, e).c_str());
  }
  // A policy that fails lint is explained all the same, but it is not one to serve.
  return e.lint_errors.empty() ? 0 : 1;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, int& exit_code) {
  CLI::App* policy = app.add_subcommand(
      "policy", "Write policies with confidence: lint, test and explain (docs/policies.md)");
  policy->require_subcommand(1);
  auto args = std::make_shared<PolicyArgs>();

  CLI::App* lint = policy->add_subcommand(
      "lint",
      "Check policy files; print every problem as FILE:LINE:COL: error|warning: ... and exit 1 "
      "on any error");
  lint->add_option("files", args->files, "Policy YAML files")->required()->check(CLI::ExistingFile);
  lint->add_option("--catalog", args->catalog,
                   "Catalog YAML file (default: the catalog built into partita)");
  lint->callback([args, &exit_code] { exit_code = Lint(*args); });

  CLI::App* test = policy->add_subcommand(
      "test",
      "Run the test cases kept with each policy (its 'tests:' list and NAME.test.yaml beside "
      "it); print each failure with its location and end with 'N passed, M failed'");
  test->add_option("files", args->files, "Policy YAML files (or their NAME.test.yaml files)")
      ->required()
      ->check(CLI::ExistingFile);
  test->add_option("--catalog", args->catalog,
                   "Catalog YAML file (default: the catalog built into partita)");
  test->add_flag("-v,--verbose", args->verbose, "Print a pass/fail count for every file");
  test->callback([args, &exit_code] { exit_code = Test(*args); });

  CLI::App* explain = policy->add_subcommand(
      "explain",
      "Decide for one state and show why: guards, the rules skipped and matched, and every "
      "candidate's predicted latency, cost, energy and quality");
  explain->add_option("--policy", args->policy, "Policy YAML file")
      ->required()
      ->check(CLI::ExistingFile);
  explain
      ->add_option("--state", args->state,
                   "State YAML file (device, network, request, fleet, peer, time; missing "
                   "keys take the defaults in docs/policies.md)")
      ->required()
      ->check(CLI::ExistingFile);
  explain->add_flag("--json", args->json, "Print one JSON object instead of the report");
  explain->add_option("--catalog", args->catalog,
                      "Catalog YAML file (default: the catalog built into partita)");
  explain->callback([args, &exit_code] { exit_code = Explain(*args); });
}

}  // namespace partita::cli
