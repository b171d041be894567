// One "answer this", end to end on the agent: request features, the decision (router or
// offline), then the fallback walk over the decision's tiers until one answers.
//
// Fallback rules: before the first token a failed tier is invisible to the app except in the
// trail; after it, the next tier continues the answer from what was produced (passed along as
// context), or, when no tier is left, the answer returns marked truncated — a failed stream
// never ends looking like a clean answer. The agent re-checks the policy's guards itself before
// every attempt, so no tier a guard forbids is ever tried, whatever the router said or failed.
// The Outcome (no prompt or answer text) goes to the router.
// Threading: on the agent's io_context thread.
#pragma once

#include <string>

#include "edge_agent/request_features.h"
#include "edge_agent/tiers.h"
#include "proto/partita.pb.h"

namespace partita::agent {

class Agent;

struct TierSet {
  TierRunner* device = nullptr;  // null: the device tier is not configured
  TierRunner* phone = nullptr;
  TierRunner* cloud = nullptr;
};

asio::awaitable<v1::AskResult> RunAsk(Agent& agent, const TierSet& tiers,
                                      const v1::AskRequest& request, const ChunkFn& on_chunk);

}  // namespace partita::agent
