#include "edge_agent/request_features.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "proto/convert.h"

namespace partita::agent {

namespace {

constexpr std::array<std::string_view, 24> kCommandVerbs = {
    "turn",  "set",    "play", "stop",  "pause",  "resume", "call",   "open",
    "close", "remind", "add",  "start", "switch", "lock",   "unlock", "navigate",
    "text",  "send",   "show", "dim",   "skip",   "mute",   "cancel", "timer"};

constexpr std::array<std::string_view, 16> kReasoningMarkers = {
    "why",     "explain", "prove", "calculate", "step by step", "compare",   "derive",   "how many",
    "analyze", "analyse", "solve", "plan",      "reason",       "trade-off", "tradeoff", "what if"};

std::string Lower(std::string_view s, std::size_t limit) {
  std::string out;
  out.reserve(std::min(s.size(), limit));
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
  }
  return out;
}

bool ContainsWord(const std::string& text, std::string_view word) {
  std::size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string::npos) {
    const bool start_ok = pos == 0 || !std::isalpha(static_cast<unsigned char>(text[pos - 1]));
    const std::size_t end = pos + word.size();
    const bool end_ok = end >= text.size() || !std::isalpha(static_cast<unsigned char>(text[end]));
    if (start_ok && end_ok) return true;
    pos = end;
  }
  return false;
}

int ReasoningMarkers(const std::string& lower) {
  int n = 0;
  for (std::string_view m : kReasoningMarkers) n += ContainsWord(lower, m) ? 1 : 0;
  // Arithmetic: a digit next to an operator.
  for (std::size_t i = 1; i + 1 < lower.size(); ++i) {
    const char c = lower[i];
    if ((c == '+' || c == '*' || c == '/' || c == '^' || c == '=') &&
        (std::isdigit(static_cast<unsigned char>(lower[i - 1])) ||
         std::isdigit(static_cast<unsigned char>(lower[i + 1])) || lower[i - 1] == ' ')) {
      ++n;
      break;
    }
  }
  return n;
}

std::string_view FirstWord(const std::string& lower) {
  std::size_t b = 0;
  while (b < lower.size() && !std::isalpha(static_cast<unsigned char>(lower[b]))) ++b;
  std::size_t e = b;
  while (e < lower.size() && std::isalpha(static_cast<unsigned char>(lower[e]))) ++e;
  return std::string_view(lower).substr(b, e - b);
}

}  // namespace

RequestKind InferKind(std::string_view prompt) {
  const std::string lower = Lower(prompt, 4096);
  const std::uint32_t tokens = EstimateTokens(prompt);
  if (ReasoningMarkers(lower) > 0 || tokens > 200) return RequestKind::kReasoning;
  if (tokens <= 16) {
    const std::string_view first = FirstWord(lower);
    for (std::string_view verb : kCommandVerbs) {
      if (first == verb) return RequestKind::kCommand;
    }
  }
  return RequestKind::kChat;
}

policy::RequestFacts ComputeRequestFeatures(std::string_view prompt,
                                            const FeatureOptions& options) {
  policy::RequestFacts f;
  f.tokens_in = EstimateTokens(prompt);
  f.kind = options.kind.value_or(InferKind(prompt));
  f.privacy = options.privacy;
  f.latency_budget_ms = options.latency_budget_ms;
  f.max_cost_usd = options.max_cost_usd;
  switch (f.kind) {
    case RequestKind::kCommand: f.tokens_out = 24; break;
    case RequestKind::kChat: f.tokens_out = 160; break;
    case RequestKind::kReasoning: f.tokens_out = 400; break;
  }
  if (options.max_tokens > 0) f.tokens_out = options.max_tokens;
  if (options.scorer != nullptr) {
    thread_local scorer::FeatureExtractor extractor;
    thread_local scorer::Features features;
    f.difficulty = options.scorer->Score(prompt, extractor, features);
    return f;
  }
  double difficulty = f.kind == RequestKind::kCommand ? 0.1
                      : f.kind == RequestKind::kChat  ? 0.4
                                                      : 0.7;
  const std::string lower = Lower(prompt, 4096);
  difficulty += 0.1 * std::min(2, ReasoningMarkers(lower));
  difficulty += std::min(0.2, static_cast<double>(f.tokens_in) / 2000.0);
  f.difficulty = std::clamp(difficulty, 0.0, 1.0);
  return f;
}

v1::RequestFeatures ToWire(const policy::RequestFacts& features) {
  v1::RequestFeatures f;
  f.set_tokens_in(features.tokens_in);
  f.set_tokens_out(features.tokens_out);
  f.set_difficulty(static_cast<float>(features.difficulty));
  f.set_privacy(ToProto(features.privacy));
  f.set_kind(ToProto(features.kind));
  f.set_latency_budget_ms(features.latency_budget_ms);
  f.set_max_cost_usd(features.max_cost_usd);
  return f;
}

}  // namespace partita::agent
