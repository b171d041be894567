#include "edge_agent/request_features.h"

#include <doctest/doctest.h>

namespace partita::agent {
namespace {

TEST_CASE("Token estimates are about four bytes per token") {
  CHECK(EstimateTokens("") == 1);
  CHECK(EstimateTokens("abcd") == 1);
  CHECK(EstimateTokens("abcde") == 2);
  CHECK(EstimateTokens(std::string(400, 'x')) == 100);
}

TEST_CASE("Kinds are inferred from the prompt") {
  CHECK(InferKind("Turn off the kitchen lights") == RequestKind::kCommand);
  CHECK(InferKind("set a timer for ten minutes") == RequestKind::kCommand);
  CHECK(InferKind("What's a good name for a cat?") == RequestKind::kChat);
  CHECK(InferKind("Explain why the sky is blue") == RequestKind::kReasoning);
  CHECK(InferKind("what is 17*23") == RequestKind::kReasoning);
  CHECK(InferKind(std::string(1000, 'a')) == RequestKind::kReasoning);
  // "turn" inside a longer chatty sentence is not a command.
  CHECK(InferKind("I wonder whether my turn at chess is next, and what you'd play in my place "
                  "given the position we discussed yesterday") == RequestKind::kChat);
}

TEST_CASE("Difficulty grows with the kind, reasoning markers and length, caller options win") {
  const auto command = ComputeRequestFeatures("turn on the lights", {});
  const auto chat = ComputeRequestFeatures("tell me about Lisbon", {});
  const auto reasoning = ComputeRequestFeatures("explain step by step why 17*23 = 391", {});
  CHECK(command.difficulty < chat.difficulty);
  CHECK(chat.difficulty < reasoning.difficulty);
  CHECK(reasoning.difficulty <= 1.0);
  CHECK(command.tokens_out == 24);
  CHECK(reasoning.tokens_out == 400);

  FeatureOptions o;
  o.kind = RequestKind::kChat;
  o.privacy = Privacy::kPrivate;
  o.max_tokens = 77;
  o.latency_budget_ms = 1500;
  const auto f = ComputeRequestFeatures("turn on the lights", o);
  CHECK(f.kind == RequestKind::kChat);
  CHECK(f.privacy == Privacy::kPrivate);
  CHECK(f.tokens_out == 77);
  CHECK(f.latency_budget_ms == 1500);
}

TEST_CASE("With a scorer, difficulty is the scorer's and the other features stay") {
  const Result<scorer::DifficultyModel>& shipped = scorer::DifficultyModel::Shipped();
  REQUIRE(shipped.ok());
  FeatureOptions o;
  o.scorer = &*shipped;
  for (const char* prompt :
       {"turn on the lights", "explain step by step why 17*23 = 391", "请证明这个定理并计算积分"}) {
    CAPTURE(prompt);
    const auto scored = ComputeRequestFeatures(prompt, o);
    const auto keywords = ComputeRequestFeatures(prompt, {});
    CHECK(scored.difficulty == doctest::Approx(shipped->Score(prompt)));
    CHECK(scored.kind == keywords.kind);
    CHECK(scored.tokens_out == keywords.tokens_out);
  }
}

}  // namespace
}  // namespace partita::agent
