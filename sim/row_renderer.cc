#include "sim/row_renderer.h"

#include <algorithm>
#include <cmath>

namespace partita::sim {

namespace {

// Simulated t = 0 is Monday 2026-01-05 at the fleet's start hour (local time = UTC).
constexpr std::int64_t kEpochUnixMs = 1767571200000;

}  // namespace

RowRenderer::RowRenderer(const World& world, const policy::Policy& policy)
    : policy_version_(policy.version().substr(0, storage::kPolicyVersionChars)),
      origin_unix_ms_(kEpochUnixMs + world.fleet().start_hour * 3'600'000LL) {
  const auto& devices = world.devices();
  device_ids_.reserve(devices.size());
  device_household_.reserve(devices.size());
  device_profile_.reserve(devices.size());
  for (std::uint32_t i = 0; i < devices.size(); ++i) {
    device_ids_.push_back(world.DeviceId(i));
    device_household_.push_back(devices[i].household);
    device_profile_.push_back(devices[i].profile);
  }
  household_names_.reserve(world.households().size());
  for (const Household& hh : world.households()) {
    household_names_.push_back(world.fleet().households[hh.template_index].name + "-" +
                               std::to_string(hh.ordinal));
  }
  const Catalog& catalog = world.catalog();
  for (const DeviceClass& c : catalog.devices()) profile_names_.push_back(c.name);
  for (const ModelSpec& m : catalog.models()) model_names_.push_back(m.name);
  for (std::size_t r = 0; r < policy.rule_count(); ++r) {
    rule_names_.emplace_back(policy.rule_name(static_cast<std::int32_t>(r)));
  }
  for (std::size_t g = 0; g < policy.guard_count(); ++g) {
    guard_names_.emplace_back(policy.guard_name(g));
  }
}

std::int64_t RowRenderer::UnixMs(double t_s) const {
  return origin_unix_ms_ + static_cast<std::int64_t>(t_s * 1000);
}

void RowRenderer::Render(const SimulatedRequest& r, storage::DecisionRecord& dr,
                         storage::OutcomeRecord& o) const {
  dr.run_id = r.run_id;
  dr.request_id = r.request_id;
  dr.device_id = device_ids_[r.device];
  dr.device_profile = profile_names_[device_profile_[r.device]];
  dr.household = household_names_[device_household_[r.device]];
  dr.t_ms = UnixMs(r.t_s);
  dr.hour = r.hour;
  dr.kind = Name(r.request.kind);
  dr.privacy = Name(r.request.privacy);
  dr.tokens_in = r.request.tokens_in;
  dr.tokens_out = r.request.tokens_out;
  dr.difficulty = r.request.difficulty;
  dr.latency_budget_ms = r.request.latency_budget_ms;
  dr.max_cost_usd = r.request.max_cost_usd;
  dr.battery_pct = r.battery_pct;
  dr.charging = r.charging;
  dr.thermal = Name(r.thermal);
  dr.network = Name(r.network);
  dr.rtt_ms = r.rtt_ms;
  dr.cloud_load = r.cloud_load;
  dr.cloud_healthy = r.cloud_healthy;
  dr.phone_available = r.phone_available;
  dr.policy_version = policy_version_;
  if (r.rule_index >= 0) {
    dr.rule = rule_names_[static_cast<std::size_t>(r.rule_index)];
  } else {
    dr.rule.clear();
  }
  if (r.decided) {
    dr.tier = r.route.tier;
    dr.model = model_names_[r.route.model];
  } else {
    dr.tier.reset();
    dr.model.clear();
  }
  dr.fallback.clear();
  for (int i = 0; i < r.fallback_count; ++i) {
    storage::AppendListItem(dr.fallback, Name(r.fallback[static_cast<std::size_t>(i)].tier));
  }
  dr.guards.clear();
  for (std::size_t g = 0; g < guard_names_.size() && g < 32; ++g) {
    if ((r.guards_applied >> g) & 1u) storage::AppendListItem(dr.guards, guard_names_[g]);
  }
  dr.deadline_ms = r.deadline_ms;
  dr.decided_offline = false;
  dr.decide_us = 0;  // wall-clock timings would make runs irreproducible
  dr.pred_latency_ms = r.prediction.latency_ms;
  dr.pred_ttft_ms = r.prediction.ttft_ms;
  dr.pred_cost_usd = r.prediction.cost_usd;
  dr.pred_energy_j = r.prediction.energy_j;
  dr.pred_quality = r.prediction.quality;

  o.run_id = r.run_id;
  o.request_id = r.request_id;
  o.device_id = dr.device_id;
  o.t_ms = dr.t_ms + static_cast<std::int64_t>(r.total_ms);
  if (r.answered) {
    o.final_tier = r.final_route.tier;
    o.final_model = model_names_[r.final_route.model];
  } else {
    o.final_tier.reset();
    o.final_model.clear();
  }
  o.success = r.success;
  o.truncated = !r.success && r.tokens_out > 0;
  o.ttft_ms = std::max(0.0, r.ttft_ms);
  o.total_ms = r.total_ms;
  o.tokens_out = r.tokens_out;
  o.cost_usd = r.cost_usd;
  o.energy_j = r.energy_j;
  o.quality = r.quality;
  o.label_correct = r.label_correct;
  o.label_model = r.label_model;
  o.attempts = r.attempt_count;
  o.fallback_cause.clear();
  o.trail.clear();
  for (int i = 0; i < r.attempt_count; ++i) {
    const SimulatedAttempt& a = r.attempts[static_cast<std::size_t>(i)];
    if (a.outcome != AttemptOutcome::kOk && o.fallback_cause.empty()) {
      o.fallback_cause = Name(a.outcome);
    }
    storage::AppendTrailStep(o.trail, Name(a.route.tier), Name(a.outcome), a.spent_ms);
  }
  o.deadline_missed = r.deadline_missed;
  o.error = storage::FailureReason(r.decided, r.success, r.deadline_missed);
}

}  // namespace partita::sim
