// The state file: one device state, request and fleet context, written by a person, for
// `partita policy explain --state` and for the `state:` of a policy test case.
//
// Top-level keys `device`, `network`, `request`, `fleet`, `peer`, `time`, holding the fields
// policies read (docs/policies.md, "State files", lists every key and its default). Every
// key is optional; a missing one takes its documented default, so `{}` is a healthy
// mains-powered smart speaker on Wi-Fi asking a medium chat question. Unknown keys, wrong
// types, out-of-range numbers and names the catalog does not know are located errors.
// Not thread-safe (writes to the Diagnostics it is given); the result is a plain value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "common/status.h"
#include "common/yaml_tree.h"
#include "device_profiles/catalog.h"
#include "policies/decision.h"

namespace partita::policy {

struct DecisionState {
  std::string device_id = "device-1";
  DecisionInput input;  // input.device.id is left empty: use Input()

  // `input` with device.id viewing device_id (valid while this object lives, unmoved).
  DecisionInput Input() const {
    DecisionInput in = input;
    in.device.id = device_id;
    return in;
  }
};

// Reads a state from a parsed map (a null node is the all-defaults state).
std::optional<DecisionState> ReadState(const yaml::Node& node, const Catalog& catalog,
                                       Diagnostics& diagnostics);

// Parses state YAML text.
std::optional<DecisionState> ParseState(std::string_view text, const Catalog& catalog,
                                        Diagnostics& diagnostics);

// Reads and parses a state file; the error lists every located problem.
Result<DecisionState> LoadStateFile(const std::string& path, const Catalog& catalog);

}  // namespace partita::policy
