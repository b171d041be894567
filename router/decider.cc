#include "router/decider.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

#include "proto/convert.h"

namespace partita::router {

int LocalHour(std::int64_t unix_ms) {
  // localtime_r is slow (time zone lookup); the hour changes once an hour, so each thread
  // caches it per minute.
  thread_local std::int64_t cached_minute = -1;
  thread_local int cached_hour = 0;
  const std::int64_t minute = unix_ms / 60000;
  if (minute != cached_minute) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm local{};
    localtime_r(&secs, &local);
    cached_minute = minute;
    cached_hour = local.tm_hour;
  }
  return cached_hour;
}

std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void CloudState::AddSpend(double usd, std::int64_t unix_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::int64_t day = unix_ms / 86'400'000;
  if (day != day_) {
    day_ = day;
    spent_today_ = 0;
  }
  spent_today_ += usd;
}

double CloudState::BudgetLeft(std::int64_t unix_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::int64_t day = unix_ms / 86'400'000;
  const double own = budget_usd_per_day_ - (day == day_ ? spent_today_ : 0);
  const double gateway = gateway_budget_left_.load();
  return gateway >= 0 ? std::min(own, gateway) : own;
}

void FillRoute(const policy::Policy& policy, const policy::Route& route,
               const DeviceSnapshot* phone, v1::Route* out) {
  out->set_tier(ToProto(route.tier));
  out->set_model(policy.catalog()->model(route.model).name);
  if (route.tier == Tier::kPhone && phone != nullptr) {
    out->set_target_device_id(phone->id);
    out->set_endpoint(phone->peer_endpoint);
  }
}

DecisionOutput Decider::Decide(const DeviceSnapshot& device,
                               const v1::DecideRequest& request) const {
  DecisionOutput out;
  const policy::PolicyPtr policy = policies_.Current();
  const Catalog& catalog = *policy->catalog();
  const std::int64_t now_ms = UnixMillis();

  policy::DecisionInput in;
  in.device.id = device.id;
  in.device.profile = device.profile;
  in.device.battery_pct = device.battery_pct;
  in.device.charging = device.charging;
  in.device.thermal = device.thermal;
  in.device.free_mem_mb = device.free_mem_mb;
  in.device.models = device.models;
  in.device.models_warm = device.models_warm;
  in.network.type = device.network;
  in.network.rtt_ms = device.rtt_ms;
  in.network.metered = device.metered;

  const v1::RequestFeatures& f = request.features();
  in.request.tokens_in = f.tokens_in();
  in.request.tokens_out = f.tokens_out();
  in.request.difficulty = std::clamp(static_cast<double>(f.difficulty()), 0.0, 1.0);
  in.request.privacy = FromProto(f.privacy());
  in.request.kind = FromProto(f.kind()).value_or(RequestKind::kChat);
  in.request.latency_budget_ms = f.latency_budget_ms();
  in.request.max_cost_usd = f.max_cost_usd();

  in.fleet.cloud_healthy = cloud_.healthy();
  in.fleet.cloud_load = cloud_.load();
  in.fleet.budget_left_usd = cloud_.BudgetLeft(now_ms);

  std::optional<DeviceSnapshot> phone;
  if (std::shared_ptr<DeviceEntry> p = registry_.PhoneFor(device)) {
    phone.emplace(p->Snapshot());
    in.peer.phone_available = true;
    in.peer.phone_battery_pct = phone->battery_pct;
    in.peer.phone_profile = phone->profile;
    in.peer.phone_thermal = phone->thermal;
    in.peer.phone_models = phone->models;
    in.peer.phone_models_warm = phone->models_warm;
  }
  in.time.hour = LocalHour(now_ms);

  policy::DecisionResult result;
  const auto t0 = std::chrono::steady_clock::now();
  policy::Decide(*policy, in, result);
  out.decide_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();

  v1::Decision& d = out.decision;
  d.set_request_id(request.request_id());
  d.set_deadline_ms(result.deadline_ms);
  d.set_policy_version(policy->version());
  out.rule = std::string(policy->rule_name(result.rule_index));
  out.rule_index = result.rule_index;
  out.policy_version = policy->version();
  d.set_rule(out.rule);
  const DeviceSnapshot* phone_ptr = phone ? &*phone : nullptr;
  out.ok = result.ok;
  if (result.ok) {
    out.tier = result.route.tier;
    FillRoute(*policy, result.route, phone_ptr, d.mutable_route());
    for (int i = 0; i < result.fallback_count; ++i) {
      FillRoute(*policy, result.fallback[static_cast<std::size_t>(i)], phone_ptr, d.add_fallback());
    }
  }
  for (std::size_t g = 0; g < policy->guard_count() && g < 32; ++g) {
    if ((result.guards_applied >> g) & 1u) d.add_guards(std::string(policy->guard_name(g)));
  }

  auto row = std::make_shared<storage::DecisionRecord>();
  row->request_id = request.request_id();
  row->device_id = device.id;
  row->device_profile = device.profile_name;
  row->household = device.household;
  row->t_ms = now_ms;
  row->hour = in.time.hour;
  row->kind = Name(in.request.kind);
  row->privacy = Name(in.request.privacy);
  row->tokens_in = in.request.tokens_in;
  row->tokens_out = in.request.tokens_out;
  row->difficulty = in.request.difficulty;
  row->latency_budget_ms = in.request.latency_budget_ms;
  row->max_cost_usd = in.request.max_cost_usd;
  row->battery_pct = in.device.battery_pct;
  row->charging = in.device.charging;
  row->thermal = Name(in.device.thermal);
  row->network = Name(in.network.type);
  row->rtt_ms = in.network.rtt_ms;
  row->cloud_load = in.fleet.cloud_load;
  row->cloud_healthy = in.fleet.cloud_healthy;
  row->phone_available = in.peer.phone_available;
  row->policy_version = policy->version().substr(0, storage::kPolicyVersionChars);
  row->rule = out.rule;
  if (result.ok) {
    row->tier = result.route.tier;
    row->model = catalog.model(result.route.model).name;
  }
  row->fallback = policy::FallbackTierList(result);
  row->guards = policy->GuardList(result.guards_applied);
  row->deadline_ms = result.deadline_ms;
  row->decide_us = out.decide_us;
  row->pred_latency_ms = result.prediction.latency_ms;
  row->pred_ttft_ms = result.prediction.ttft_ms;
  row->pred_cost_usd = result.prediction.cost_usd;
  row->pred_energy_j = result.prediction.energy_j;
  row->pred_quality = result.prediction.quality;
  out.record = std::move(row);
  return out;
}

}  // namespace partita::router
