#include "edge_agent/ask.h"

#include <atomic>
#include <chrono>

#include "common/log.h"
#include "device_profiles/predictor.h"
#include "edge_agent/agent.h"
#include "proto/convert.h"

namespace partita::agent {

namespace {

constexpr const char* kLog = "agent";

v1::Attempt ToAttempt(const v1::Route& route, const TierResult& r) {
  v1::Attempt a;
  a.set_tier(route.tier());
  a.set_model(r.model.empty() ? route.model() : r.model);
  a.set_result(r.result);
  a.set_detail(r.detail);
  a.set_elapsed_ms(r.elapsed_ms);
  a.set_ttft_ms(r.ttft_ms);
  a.set_tokens_out(r.tokens_out);
  return a;
}

// A tier that fails is worth a line in the agent's log (a device runtime that is not running
// otherwise only shows in each answer's trail), but not one per request: at most one a minute
// per tier, across the process. Only the tier and the kind of failure: the detail can quote an
// upstream's error message, which may echo the request, and logs never hold prompt text.
void LogTierFailure(Tier tier, const TierResult& r) {
  if (r.result == v1::ATTEMPT_DECLINED) return;  // a busy or drained phone: expected, not a fault
  static std::atomic<std::int64_t> last_logged_ms[3] = {};
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  std::atomic<std::int64_t>& last = last_logged_ms[static_cast<int>(tier) % 3];
  std::int64_t previous = last.load();
  if (previous != 0 && now_ms - previous < 60'000) return;
  if (!last.compare_exchange_strong(previous, now_ms)) return;
  LogWarn(kLog, std::string(Name(tier)) + " tier failed: " + AttemptResultName(r.result) +
                    ". Further failures of this tier are logged at most once a minute; each "
                    "answer's fallback trail has them all, with the reason.");
}

}  // namespace

asio::awaitable<v1::AskResult> RunAsk(Agent& agent, const TierSet& tiers,
                                      const v1::AskRequest& request, const ChunkFn& on_chunk) {
  const auto start = Clock::now();
  FeatureOptions options;
  options.privacy = FromProto(request.privacy());
  options.kind = FromProto(request.kind());
  options.max_tokens = request.max_tokens();
  options.latency_budget_ms = request.latency_budget_ms();
  options.max_cost_usd = request.max_cost_usd();
  options.scorer = agent.difficulty_model();
  const policy::RequestFacts features = ComputeRequestFeatures(request.prompt(), options);
  const v1::Decision decision = co_await agent.Decide(features);
  const std::uint8_t forbidden = agent.ForbiddenTiers(features);

  v1::AskResult result;
  result.set_rule(decision.rule());
  result.set_policy_version(decision.policy_version());
  result.set_decided_offline(decision.decided_offline());
  result.set_tokens_in(features.tokens_in);

  std::vector<v1::Route> chain;
  if (decision.has_route()) chain.push_back(decision.route());
  for (const v1::Route& r : decision.fallback()) chain.push_back(r);

  TierRequest tier_request;
  tier_request.prompt = request.prompt();
  tier_request.max_tokens = features.tokens_out;
  tier_request.ttft_timeout = agent.config().ttft_timeout;
  tier_request.stall_timeout = agent.config().stall_timeout;
  tier_request.first_token_by =
      start +
      std::chrono::milliseconds(decision.deadline_ms() > 0 ? decision.deadline_ms() : 3'600'000);

  std::string text;
  bool first_token_seen = false;
  bool success = false;
  bool deadline_passed = false;
  double energy_j = 0;
  double cost_usd = 0;
  std::uint32_t tokens_out = 0;
  const Catalog& catalog = agent.catalog();
  const DeviceClass& own_class = catalog.device(agent.profile());
  for (const v1::Route& route : chain) {
    const std::optional<Tier> tier = FromProto(route.tier());
    TierResult r;
    r.model = route.model();
    if (!tier) continue;
    if ((forbidden >> static_cast<int>(*tier)) & 1u) {
      r.result = v1::ATTEMPT_GUARD_BLOCKED;
      r.detail = "a guard of the policy forbids the " + std::string(Name(*tier)) +
                 " tier for this request";
      *result.add_attempts() = ToAttempt(route, r);
      continue;
    }
    if (!first_token_seen && Clock::now() >= tier_request.first_token_by) {
      deadline_passed = true;
      break;
    }
    TierRunner* runner = *tier == Tier::kDevice  ? tiers.device
                         : *tier == Tier::kPhone ? tiers.phone
                                                 : tiers.cloud;
    if (runner == nullptr) {
      r.result = v1::ATTEMPT_UNAVAILABLE;
      r.detail = std::string("no ") + (*tier == Tier::kDevice ? "runtime" : "gateway") +
                 " configured for the " + std::string(Name(*tier)) + " tier";
      *result.add_attempts() = ToAttempt(route, r);
      continue;
    }
    tier_request.model = route.model();
    tier_request.partial_answer = text;
    // A continuation finishes the answer: the tokens already produced count against its length.
    if (features.tokens_out > 0) {
      if (tokens_out >= features.tokens_out) {
        success = true;  // the answer reached its length before the last tier broke
        break;
      }
      tier_request.max_tokens = features.tokens_out - tokens_out;
    }
    tier_request.deadline_applies = !first_token_seen;
    r = co_await runner->Run(tier_request, route, [&](std::string_view chunk) {
      if (!first_token_seen) {
        first_token_seen = true;
        result.set_ttft_ms(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()));
      }
      if (on_chunk) on_chunk(chunk);
    });
    text += r.text;
    tokens_out += r.tokens_out;
    if (r.simulated) result.set_simulated(true);
    // Battery energy of this household's devices (as the predictor counts it): compute on
    // this device, or its radio while it waits on a remote tier, when it runs on battery; plus
    // what a phone reports for its own compute.
    const double seconds = r.elapsed_ms / 1000.0;
    const double own_w = own_class.OnMains() ? 0.0
                         : *tier == Tier::kDevice
                             ? std::max(0.0, own_class.active_power_w - own_class.idle_power_w)
                             : own_class.radio_power_w;
    energy_j += own_w * seconds + r.energy_j;
    if (std::optional<ModelIndex> m = catalog.FindModel(route.model())) {
      const ModelSpec& spec = catalog.model(*m);
      cost_usd += (r.tokens_in > 0 ? r.tokens_in : features.tokens_in) *
                      spec.price_usd_per_1m_input_tokens / 1e6 +
                  r.tokens_out * spec.price_usd_per_1m_output_tokens / 1e6;
    }
    *result.add_attempts() = ToAttempt(route, r);
    if (!r.ok() && r.result != v1::ATTEMPT_DEADLINE) LogTierFailure(*tier, r);
    if (r.ok()) {
      success = true;
      result.set_tier(route.tier());
      result.set_model(r.model.empty() ? route.model() : r.model);
      break;
    }
    if (r.result == v1::ATTEMPT_DEADLINE) {
      deadline_passed = true;
      break;
    }
    if (!r.text.empty()) {
      // The answer stopped mid-way; if nothing continues it, it ends truncated on this tier.
      result.set_tier(route.tier());
      result.set_model(r.model.empty() ? route.model() : r.model);
    }
  }

  result.set_text(text);
  result.set_tokens_out(tokens_out);
  result.set_cost_usd(cost_usd);
  result.set_energy_j(energy_j);
  result.set_total_ms(static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()));
  result.set_ok(success);
  result.set_truncated(!success && !text.empty());
  if (!success) {
    v1::Error* err = result.mutable_error();
    if (chain.empty()) {
      err->set_code(v1::ERROR_GUARD_BLOCKED);
      err->set_message("no tier the policy allows can answer this request (rule '" +
                       decision.rule() + "')");
    } else if (deadline_passed) {
      err->set_code(v1::ERROR_DEADLINE_EXCEEDED);
      err->set_message("no answer started within the deadline of " +
                       std::to_string(decision.deadline_ms()) + " ms");
    } else {
      err->set_code(v1::ERROR_ALL_TIERS_FAILED);
      err->set_message(text.empty() ? "every tier in the fallback chain failed"
                                    : "the answer stopped mid-way and no tier could continue it; "
                                      "it is returned truncated");
    }
  }

  v1::Outcome outcome;
  outcome.set_request_id(decision.request_id());
  outcome.set_rule(decision.rule());
  outcome.set_policy_version(decision.policy_version());
  outcome.set_decided_offline(decision.decided_offline());
  outcome.set_final_tier(result.tier());
  outcome.set_final_model(result.model());
  *outcome.mutable_attempts() = result.attempts();
  outcome.set_ttft_ms(result.ttft_ms());
  outcome.set_total_ms(result.total_ms());
  outcome.set_tokens_in(features.tokens_in);
  outcome.set_tokens_out(tokens_out);
  outcome.set_cost_usd(cost_usd);
  outcome.set_energy_j(energy_j);
  outcome.set_truncated(result.truncated());
  outcome.set_success(success);
  *outcome.mutable_features() = ToWire(features);
  agent.ReportOutcome(std::move(outcome));
  co_return result;
}

}  // namespace partita::agent
