// Request features computed on the device, without a network call: estimated prompt tokens,
// kind, difficulty (0..1) and expected answer length, from the prompt text and the caller's
// options. Difficulty comes from the scorer (docs/routing.md) or, for comparison, the keyword
// heuristic of docs/agent.md ("Request features"). Safe from any thread (the scorer's buffers
// are per thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/vocabulary.h"
#include "policies/decision.h"
#include "proto/partita.pb.h"
#include "scorer/model.h"

namespace partita::agent {

struct FeatureOptions {
  Privacy privacy = Privacy::kNormal;
  std::optional<RequestKind> kind;  // the caller's hint; inferred when absent
  std::uint32_t max_tokens = 0;     // 0 = the kind's typical answer length
  std::uint32_t latency_budget_ms = 0;
  double max_cost_usd = 0;
  // Computes request.difficulty; null = the keyword heuristic (docs/agent.md).
  const scorer::DifficultyModel* scorer = nullptr;
};

RequestKind InferKind(std::string_view prompt);

policy::RequestFacts ComputeRequestFeatures(std::string_view prompt, const FeatureOptions& options);

// The features as they travel in DecideRequest and Outcome.
v1::RequestFeatures ToWire(const policy::RequestFacts& features);

}  // namespace partita::agent
