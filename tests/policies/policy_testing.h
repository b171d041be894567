// Helpers for the policy tests: every policy goes through the real loader from real YAML.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "device_profiles/catalog_loader.h"
#include "policies/decision.h"
#include "policies/loader.h"
#include "policies/state_file.h"

namespace partita::policy::fixtures {

// "apiVersion/kind/metadata" + `spec_body` (indented under `spec:`) as policy text.
inline std::string PolicyText(const std::string& spec_body) {
  return "apiVersion: partita/v1\nkind: Policy\nmetadata: {name: test}\nspec:\n" + spec_body;
}

// Loads policy text; fails the test (with the diagnostics) when it does not load.
inline PolicyPtr Load(const std::string& text) {
  Diagnostics d("test.yaml");
  PolicyPtr p = ParsePolicy(text, d);
  REQUIRE_MESSAGE(p != nullptr, d.ToString());
  return p;
}

// The loader's diagnostics for text that must not load.
inline std::string LoadErrors(const std::string& text) {
  Diagnostics d("test.yaml");
  PolicyPtr p = ParsePolicy(text, d);
  CHECK_MESSAGE(p == nullptr, "expected the policy not to load");
  return d.ToString();
}

// A state, from state-file YAML.
inline DecisionState State(const std::string& yaml) {
  Diagnostics d("state.yaml");
  std::optional<DecisionState> s = ParseState(yaml, *DefaultCatalog(), d);
  REQUIRE_MESSAGE(s.has_value(), d.ToString());
  return *s;
}

inline DecisionResult Run(const Policy& p, const DecisionState& s) {
  DecisionInput in = s.Input();
  DecisionResult out;
  Decide(p, in, out);
  return out;
}

inline ModelIndex Model(const char* name) { return *DefaultCatalog()->FindModel(name); }

}  // namespace partita::policy::fixtures
