// The C ABI (include/partita.h) over partita::Client. No C++ exception crosses it.
#include <cstring>
#include <exception>
#include <new>

#include "sdk/client.h"
#include "sdk/include/partita.h"

struct partita_client {
  partita::Client client;
  std::string last_error;
};

struct partita_answer {
  partita::Answer answer;
  std::string tier;
  std::vector<std::string> attempt_tiers;
};

namespace {

partita_status FromStatus(const partita::Status& s) {
  switch (s.code()) {
    case partita::StatusCode::kOk: return PARTITA_OK;
    case partita::StatusCode::kInvalidArgument: return PARTITA_ERR_INVALID_ARGUMENT;
    case partita::StatusCode::kDeadlineExceeded: return PARTITA_ERR_TIMEOUT;
    case partita::StatusCode::kResourceExhausted: return PARTITA_ERR_BUDGET;
    case partita::StatusCode::kInternal: return PARTITA_ERR_INTERNAL;
    case partita::StatusCode::kUnavailable:
      return s.message().rfind("no Partita agent", 0) == 0 ||
                     s.message().rfind("agent connection lost", 0) == 0 ||
                     s.message().rfind("the agent closed", 0) == 0
                 ? PARTITA_ERR_AGENT_UNAVAILABLE
                 : PARTITA_ERR_ALL_TIERS_FAILED;
    default: return PARTITA_ERR_ALL_TIERS_FAILED;
  }
}

partita::AskOptions ToOptions(const partita_ask_options* o) {
  partita::AskOptions out;
  if (o == nullptr) return out;
  out.privacy = o->privacy == PARTITA_PRIVACY_PRIVATE  ? partita::Privacy::kPrivate
                : o->privacy == PARTITA_PRIVACY_PUBLIC ? partita::Privacy::kPublic
                                                       : partita::Privacy::kNormal;
  switch (o->kind) {
    case PARTITA_KIND_COMMAND: out.kind = partita::RequestKind::kCommand; break;
    case PARTITA_KIND_CHAT: out.kind = partita::RequestKind::kChat; break;
    case PARTITA_KIND_REASONING: out.kind = partita::RequestKind::kReasoning; break;
    default: break;
  }
  out.latency_budget_ms = o->latency_budget_ms;
  out.max_cost_usd = o->max_cost_usd;
  out.max_tokens = o->max_tokens;
  if (o->timeout_ms > 0) out.timeout = std::chrono::milliseconds(o->timeout_ms);
  return out;
}

partita_status Ask(partita_client* c, const char* prompt, const partita_ask_options* options,
                   partita_chunk_fn on_chunk, void* user, partita_answer** out) {
  if (c == nullptr) return PARTITA_ERR_INVALID_ARGUMENT;
  if (prompt == nullptr || out == nullptr) {
    c->last_error = "prompt and answer must not be NULL";
    return PARTITA_ERR_INVALID_ARGUMENT;
  }
  *out = nullptr;
  try {
    std::function<void(std::string_view)> cb;
    if (on_chunk != nullptr) {
      cb = [on_chunk, user](std::string_view t) { on_chunk(t.data(), t.size(), user); };
    }
    partita::Result<partita::Answer> r = c->client.AskStream(prompt, ToOptions(options), cb);
    if (!r.ok()) {
      c->last_error = r.status().message();
      return FromStatus(r.status());
    }
    auto* a = new partita_answer{std::move(*r), "", {}};
    a->tier = std::string(partita::Name(a->answer.tier));
    for (const partita::AttemptInfo& at : a->answer.trail) {
      a->attempt_tiers.emplace_back(at.tier ? partita::Name(*at.tier) : "");
    }
    c->last_error.clear();
    *out = a;
    return PARTITA_OK;
  } catch (const std::exception& e) {
    c->last_error = e.what();
    return PARTITA_ERR_INTERNAL;
  }
}

}  // namespace

extern "C" {

void partita_ask_options_init(partita_ask_options* o) {
  if (o == nullptr) return;
  std::memset(o, 0, sizeof *o);
}

partita_client* partita_client_new(const char* socket_path) {
  auto* c = new (std::nothrow) partita_client{
      partita::Client(socket_path != nullptr ? socket_path : partita::Client::DefaultSocketPath()),
      ""};
  return c;
}

void partita_client_free(partita_client* c) { delete c; }

const char* partita_client_last_error(const partita_client* c) {
  return c != nullptr ? c->last_error.c_str() : "no client";
}

partita_status partita_ask(partita_client* c, const char* prompt,
                           const partita_ask_options* options, partita_answer** answer) {
  return Ask(c, prompt, options, nullptr, nullptr, answer);
}

partita_status partita_ask_stream(partita_client* c, const char* prompt,
                                  const partita_ask_options* options, partita_chunk_fn on_chunk,
                                  void* user_data, partita_answer** answer) {
  return Ask(c, prompt, options, on_chunk, user_data, answer);
}

const char* partita_answer_text(const partita_answer* a) { return a ? a->answer.text.c_str() : ""; }
const char* partita_answer_tier(const partita_answer* a) { return a ? a->tier.c_str() : ""; }
const char* partita_answer_model(const partita_answer* a) {
  return a ? a->answer.model.c_str() : "";
}
const char* partita_answer_rule(const partita_answer* a) { return a ? a->answer.rule.c_str() : ""; }
double partita_answer_ttft_ms(const partita_answer* a) { return a ? a->answer.ttft_ms : 0; }
double partita_answer_total_ms(const partita_answer* a) { return a ? a->answer.total_ms : 0; }
uint32_t partita_answer_tokens_in(const partita_answer* a) { return a ? a->answer.tokens_in : 0; }
uint32_t partita_answer_tokens_out(const partita_answer* a) { return a ? a->answer.tokens_out : 0; }
double partita_answer_cost_usd(const partita_answer* a) { return a ? a->answer.cost_usd : 0; }
double partita_answer_energy_j(const partita_answer* a) { return a ? a->answer.energy_j : 0; }
int partita_answer_truncated(const partita_answer* a) { return a && a->answer.truncated; }
const char* partita_answer_truncated_reason(const partita_answer* a) {
  return a ? a->answer.truncated_reason.c_str() : "";
}
const char* partita_answer_policy_version(const partita_answer* a) {
  return a ? a->answer.policy_version.c_str() : "";
}
int partita_answer_simulated(const partita_answer* a) { return a && a->answer.simulated; }
int partita_answer_decided_offline(const partita_answer* a) {
  return a && a->answer.decided_offline;
}
size_t partita_answer_attempt_count(const partita_answer* a) {
  return a ? a->answer.trail.size() : 0;
}
const char* partita_answer_attempt_tier(const partita_answer* a, size_t i) {
  return a && i < a->attempt_tiers.size() ? a->attempt_tiers[i].c_str() : "";
}
const char* partita_answer_attempt_model(const partita_answer* a, size_t i) {
  return a && i < a->answer.trail.size() ? a->answer.trail[i].model.c_str() : "";
}
const char* partita_answer_attempt_detail(const partita_answer* a, size_t i) {
  return a && i < a->answer.trail.size() ? a->answer.trail[i].detail.c_str() : "";
}
const char* partita_answer_attempt_result(const partita_answer* a, size_t i) {
  return a && i < a->answer.trail.size() ? a->answer.trail[i].result.c_str() : "";
}
uint32_t partita_answer_attempt_elapsed_ms(const partita_answer* a, size_t i) {
  return a && i < a->answer.trail.size() ? a->answer.trail[i].elapsed_ms : 0;
}
void partita_answer_free(partita_answer* a) { delete a; }

const char* partita_status_name(partita_status s) {
  switch (s) {
    case PARTITA_OK: return "ok";
    case PARTITA_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case PARTITA_ERR_AGENT_UNAVAILABLE: return "agent_unavailable";
    case PARTITA_ERR_TIMEOUT: return "timeout";
    case PARTITA_ERR_ALL_TIERS_FAILED: return "all_tiers_failed";
    case PARTITA_ERR_BUDGET: return "budget";
    case PARTITA_ERR_INTERNAL: return "internal";
  }
  return "unknown";
}

}  // extern "C"
