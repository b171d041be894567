// Counterfactual replay: `partita sim --replay ROUTER.db --policy P2.yaml`. Re-decides every
// request of a production decision log under other policies, with the facts the router logged
// (device state, network, fleet context), and predicts each outcome with the catalog predictor.
//
// The run database it writes holds the production requests as logged (run "production (as
// logged)", measured), the same decisions with predicted outcomes ("production (predicted)",
// the baseline predictions are compared with) and one run per policy, so `partita report`
// compares them request for request.
// What replay cannot know, it assumes and says so (docs/fleet.md, "Replay"): the household
// phone's profile (the catalog's first device class that accepts offloads), models (the
// profile's), no failures beyond what the logged facts make unavailable.
// Blocking; call from the CLI or a test.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "policies/policy.h"

namespace partita::sim {

struct ReplayOptions {
  std::string log_path;  // the router's decision log (any request-log database)
  std::vector<policy::PolicyPtr> policies;
  std::string out_path;
};

struct ReplaySummary {
  std::string label;
  std::uint64_t requests = 0;
  std::uint64_t changed = 0;  // decided on another tier than production did
  std::uint64_t answered = 0;
};

Result<std::vector<ReplaySummary>> RunReplay(const ReplayOptions& options);

}  // namespace partita::sim
