// Policy test cases: a state plus what the decision must be, kept with the policy.
//
// Cases live in the policy file's top-level `tests:` list and/or in a sibling file
// NAME.test.yaml (`tests:` at its top level) next to NAME.yaml. Each case has a `name`, a
// `state` (the state-file format of state_file.h) and `expect` with any of `tier`, `rule`,
// `model`, `fallback`, `ok`, `deadline_ms`, `guards`. docs/policies.md, "Test cases", has the
// format. Reading is not thread-safe per Diagnostics; RunTests only reads the policy.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "common/status.h"
#include "common/yaml_tree.h"
#include "policies/policy.h"
#include "policies/state_file.h"

namespace partita::policy {

struct TestExpectation {
  std::optional<Tier> tier;
  std::optional<std::string> rule;
  std::optional<std::string> model;
  std::optional<std::vector<Tier>> fallback;
  std::optional<bool> ok;
  std::optional<std::uint32_t> deadline_ms;
  std::optional<std::vector<std::string>> guards;  // exactly the guards that applied
};

struct TestCase {
  std::string name;
  std::string file;
  SourceLocation location;
  DecisionState state;
  TestExpectation expect;
};

// Reads a `tests:` list; located errors for malformed cases, unknown rules, guards, models.
// Returns false when any case was malformed (the good ones are still appended).
bool ReadTestCases(const yaml::Node& list, const Policy& policy, Diagnostics& diagnostics,
                   std::vector<TestCase>& out);

// "dir/NAME.test.yaml" for "dir/NAME.yaml".
std::string SiblingTestPath(const std::string& policy_path);

// The policy at `path` (or, for a NAME.test.yaml path, the NAME.yaml beside it) with all its
// well-formed test cases. A policy that does not load is the error (located, one per line);
// malformed cases and test files are reported in `errors` and the other cases still run.
struct TestSuite {
  PolicyPtr policy;
  std::vector<TestCase> cases;
  std::vector<std::string> files;  // the files the cases came from
  // Located errors in test cases or test files, one per line ("" when none).
  std::string errors;
  std::size_t malformed = 0;  // cases left out because they are malformed
};
Result<TestSuite> LoadTestSuite(const std::string& path, CatalogPtr catalog = nullptr);

struct TestFailure {
  std::string case_name;
  std::string file;
  SourceLocation location;
  std::string message;

  // "FILE:LINE:COL: error: test 'NAME' failed: MESSAGE"
  std::string ToString() const;
};

struct TestReport {
  std::size_t passed = 0;
  std::size_t failed = 0;
  std::vector<TestFailure> failures;
};

TestReport RunTests(const Policy& policy, std::span<const TestCase> cases);

}  // namespace partita::policy
