#include "sim/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "policies/decision.h"
#include "sim/arrivals.h"
#include "sim/random.h"
#include "sim/row_renderer.h"

namespace partita::sim {

namespace {

constexpr std::uint64_t kProgressEvery = 1 << 16;
constexpr std::size_t kPrefetchAhead = 8;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

}  // namespace

void LatencyHistogram::Add(double ms) {
  const double x = std::max(ms, 0.1);
  const int b = std::clamp(static_cast<int>(std::log(x / 0.1) / std::log(1.02)), 0, kBuckets - 1);
  ++buckets_[static_cast<std::size_t>(b)];
  ++count_;
}

double LatencyHistogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  const auto target =
      static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[static_cast<std::size_t>(b)];
    if (seen >= std::max<std::uint64_t>(target, 1)) return 0.1 * std::pow(1.02, b + 0.5);
  }
  return 0.1 * std::pow(1.02, kBuckets);
}

struct Simulator::Attempt {
  policy::Route route;
  AttemptOutcome result = AttemptOutcome::kUnavailable;
  double spent_ms = 0;
  double ttft_ms = -1;  // within the attempt; -1 = no token arrived
  std::uint32_t tokens = 0;
  double cost_usd = 0;
  double energy_j = 0;
};

struct Simulator::Execution {
  std::array<Attempt, 1 + policy::kMaxFallback> attempts{};
  int count = 0;
  bool success = false;
  bool deadline_missed = false;
  double ttft_ms = -1;
  double total_ms = 0;
  std::uint32_t tokens_out = 0;
  double cost_usd = 0;
  double energy_j = 0;
  policy::Route final_route;
};

Simulator::Simulator(const FleetSpec& fleet, const policy::Policy& policy, std::uint64_t seed,
                     double hours)
    : fleet_(fleet),
      policy_(policy),
      catalog_(*policy.catalog()),
      seed_(seed),
      end_s_(hours * 3600.0),
      world_(fleet, *policy.catalog(), seed) {
  renderer_ = std::make_shared<const RowRenderer>(world_, policy);
}

bool Simulator::CloudOutage(double t, bool* hang) const {
  const double hours = t / 3600.0;
  for (const Outage& o : fleet_.cloud.outages) {
    if (o.Covers(hours)) {
      if (hang != nullptr) *hang = o.hang;
      return true;
    }
  }
  return false;
}

bool Simulator::CloudHealthyAsSeen(double t) const {
  // A refusing cloud shows in the gateway's health after a lag; a hanging one does not show at
  // all (the gateway sees streams in flight, not failures), so requests keep trying it.
  bool hang = false;
  const bool out = CloudOutage(std::max(0.0, t - fleet_.cloud.health_lag_seconds), &hang);
  return !out || hang;
}

double Simulator::CloudLoad(double t) {
  while (!cloud_busy_.empty() && cloud_busy_.top() <= t) cloud_busy_.pop();
  return static_cast<double>(cloud_busy_.size()) / static_cast<double>(fleet_.cloud.capacity);
}

bool Simulator::PhoneAdmits(const SimDevice& phone, double t) const {
  if (phone.empty) return false;
  const bool battery_ok =
      world_.BatteryPct(phone) >= fleet_.phone.min_battery_pct || world_.Charging(phone, t);
  const bool cool = world_.ThermalState(phone) <= fleet_.phone.max_thermal;
  const std::int64_t in_flight = phone.busy_until_s > t ? 1 : 0;
  return battery_ok && cool && in_flight < fleet_.phone.max_in_flight;
}

Simulator::Attempt Simulator::TryTier(std::uint32_t device, double start_s,
                                      const policy::Route& route,
                                      const policy::DecisionInput& input, std::uint32_t tokens_in,
                                      std::uint32_t tokens_out, double remaining_ms,
                                      std::uint64_t request_id, int attempt_index) {
  Attempt a;
  a.route = route;
  SimDevice& asker = world_.devices()[device];
  const ModelSpec& model = catalog_.model(route.model);
  Rng fail(seed_, Stream::kFailure, request_id * 8 + static_cast<std::uint64_t>(attempt_index));
  Rng rtt_rng(seed_, Stream::kRtt, request_id * 8 + static_cast<std::uint64_t>(attempt_index));
  const AgentSpec& agent = fleet_.agent;

  ExecutionSite site;
  site.tier = route.tier;
  site.model = &model;
  site.asker = &catalog_.device(asker.profile);
  SimDevice* executor = nullptr;
  double wait_ms = 0;
  double stall_rate = 0;
  double error_rate = 0;

  switch (route.tier) {
    case Tier::kDevice: {
      site.runtime = catalog_.device(asker.profile).RuntimeFor(route.model);
      if (site.runtime == nullptr || !asker.installed.Contains(route.model)) return a;
      executor = &asker;
      error_rate = agent.device_error_rate;
      break;
    }
    case Tier::kPhone: {
      if (asker.peer_phone == kNoDevice) return a;
      const auto phone_index = static_cast<std::uint32_t>(asker.peer_phone);
      SimDevice& phone = world_.devices()[phone_index];
      world_.Advance(phone, start_s);
      if (phone.empty || world_.Network(phone_index, start_s) == NetworkType::kOffline ||
          world_.Network(device, start_s) == NetworkType::kOffline) {
        return a;
      }
      site.rtt_ms = fleet_.network.phone_rtt_ms.Sample(rtt_rng);
      site.runtime = catalog_.device(phone.profile).RuntimeFor(route.model);
      if (site.runtime == nullptr || !PhoneAdmits(phone, start_s)) {
        a.result = AttemptOutcome::kDeclined;
        a.spent_ms = std::min(site.rtt_ms, remaining_ms);
        a.energy_j = asker.radio_w * a.spent_ms / 1000.0;
        world_.Spend(asker, a.energy_j);
        return a;
      }
      executor = &phone;
      stall_rate = agent.phone_drop_rate;
      break;
    }
    case Tier::kCloud: {
      const NetworkType net = world_.Network(device, start_s);
      if (net == NetworkType::kOffline) return a;
      site.rtt_ms = fleet_.network.rtt_ms[static_cast<std::size_t>(net)].Sample(rtt_rng);
      site.runtime = catalog_.cloud().RuntimeFor(route.model);
      if (site.runtime == nullptr) return a;
      bool hang = false;
      if (CloudOutage(start_s, &hang)) {
        a.result = hang ? AttemptOutcome::kNoFirstToken : AttemptOutcome::kRefused;
        a.spent_ms = hang ? std::min(agent.ttft_timeout_ms, remaining_ms)
                          : std::min(site.rtt_ms, remaining_ms);
        if (hang && agent.ttft_timeout_ms > remaining_ms) a.result = AttemptOutcome::kDeadline;
        a.energy_j = asker.radio_w * a.spent_ms / 1000.0;
        world_.Spend(asker, a.energy_j);
        return a;
      }
      CloudLoad(start_s);
      if (static_cast<std::int64_t>(cloud_busy_.size()) >= fleet_.cloud.capacity) {
        wait_ms = (cloud_busy_.top() - start_s) * 1000.0;
        cloud_busy_.pop();
      }
      error_rate = fleet_.cloud.error_rate;
      stall_rate = fleet_.cloud.stall_rate;
      break;
    }
  }

  if (executor != nullptr) {
    site.executor = &catalog_.device(executor->profile);
    site.executor_thermal = world_.ThermalState(*executor);
    site.warm = executor->resident.Contains(route.model) ||
                (executor->has_warm_model && executor->warm_model == route.model &&
                 executor->warm_until_s > start_s);
    wait_ms = std::max(0.0, (executor->busy_until_s - start_s) * 1000.0);
  }
  const RequestShape shape{tokens_in, std::max<std::uint32_t>(tokens_out, 1),
                           input.request.difficulty};
  const PredictionDetail p = PredictDetail(site, shape);
  const double ttft = wait_ms + p.total.ttft_ms;
  const double per_token = p.decode_ms_per_token;
  const double fixed_ms = wait_ms + p.rtt_ms + p.base_ms;  // before the executor computes

  if (fail.Bernoulli(error_rate)) {
    a.result = AttemptOutcome::kErrorStatus;
    a.spent_ms = std::min(fixed_ms, remaining_ms);
  } else {
    const double first_token_limit = std::min(agent.ttft_timeout_ms, remaining_ms);
    if (ttft > first_token_limit) {
      a.result = agent.ttft_timeout_ms <= remaining_ms ? AttemptOutcome::kNoFirstToken
                                                       : AttemptOutcome::kDeadline;
      a.spent_ms = first_token_limit;
    } else {
      a.ttft_ms = ttft;
      std::uint32_t produced = shape.tokens_out;
      double stream_end = ttft + per_token * (produced - 1);
      if (fail.Bernoulli(stall_rate)) {
        produced = 1 + static_cast<std::uint32_t>(fail.Uniform() * (shape.tokens_out - 1));
        stream_end = ttft + per_token * (produced - 1);
        a.result = AttemptOutcome::kStalled;
        a.spent_ms = stream_end + agent.stall_timeout_ms;
      } else {
        a.result = AttemptOutcome::kOk;
        a.spent_ms = stream_end;
      }
      a.tokens = produced;
      a.cost_usd = tokens_in * model.price_usd_per_1m_input_tokens / 1e6 +
                   produced * model.price_usd_per_1m_output_tokens / 1e6;
    }
  }

  // Energy: the executor's compute for the work done, the asker's radio while it waited.
  const double computed_ms = a.ttft_ms >= 0
                                 ? p.cold_ms + p.prefill_ms + per_token * a.tokens
                                 : std::clamp(a.spent_ms - fixed_ms, 0.0, p.cold_ms + p.prefill_ms);
  const double compute_j = p.compute_power_w * computed_ms / 1000.0;
  const double radio_j = p.radio_power_w * a.spent_ms / 1000.0;
  a.energy_j = compute_j + radio_j;
  world_.Spend(asker, radio_j);
  if (executor != nullptr) {
    world_.Spend(*executor, compute_j);
    executor->heat_s += computed_ms / 1000.0;
    executor->busy_until_s = start_s + (fixed_ms + computed_ms) / 1000.0;
    if (computed_ms > 0 && !executor->resident.Contains(route.model)) {
      executor->has_warm_model = true;
      executor->warm_model = route.model;
      executor->warm_until_s = executor->busy_until_s + agent.warm_minutes * 60.0;
    }
  } else if (route.tier == Tier::kCloud && a.spent_ms > 0) {
    cloud_busy_.push(start_s + a.spent_ms / 1000.0);
    cloud_spend_day_usd_ += a.cost_usd;
  }
  return a;
}

Simulator::Execution Simulator::Execute(std::uint32_t device, double t,
                                        const policy::DecisionInput& input,
                                        const policy::DecisionResult& decision,
                                        std::uint64_t request_id) {
  Execution ex;
  if (!decision.ok) return ex;
  // The deadline bounds the time to the first token: tiers are tried until one starts
  // answering in time. Once an answer streams, a stall still falls back, to continue it.
  const double deadline = decision.deadline_ms > 0 ? decision.deadline_ms : kInfinity;
  std::uint32_t tokens_in = input.request.tokens_in;
  std::uint32_t remaining_out = std::max<std::uint32_t>(input.request.tokens_out, 1);
  double elapsed = 0;
  for (int i = 0; i <= decision.fallback_count; ++i) {
    const policy::Route& route =
        i == 0 ? decision.route : decision.fallback[static_cast<std::size_t>(i - 1)];
    const double remaining = ex.ttft_ms >= 0 ? kInfinity : deadline - elapsed;
    if (remaining <= 0) {
      ex.deadline_missed = true;
      break;
    }
    Attempt a = TryTier(device, t + elapsed / 1000.0, route, input, tokens_in, remaining_out,
                        remaining, request_id, i);
    if (a.ttft_ms >= 0 && ex.ttft_ms < 0) ex.ttft_ms = elapsed + a.ttft_ms;
    elapsed += a.spent_ms;
    // A later tier continues the answer with what arrived as context.
    tokens_in += a.tokens;
    remaining_out -= std::min(remaining_out, a.tokens);
    ex.tokens_out += a.tokens;
    ex.cost_usd += a.cost_usd;
    ex.energy_j += a.energy_j;
    ex.attempts[static_cast<std::size_t>(ex.count++)] = a;
    if (a.result == AttemptOutcome::kOk) {
      ex.success = true;
      ex.final_route = route;
      break;
    }
    if (a.result == AttemptOutcome::kDeadline) {
      ex.deadline_missed = true;
      break;
    }
    if (remaining_out == 0) break;
  }
  ex.total_ms = elapsed;
  if (!ex.success && ex.count > 0 && ex.tokens_out > 0) {
    ex.final_route = ex.attempts[static_cast<std::size_t>(ex.count - 1)].route;
  }
  return ex;
}

void Simulator::HandleArrival(const Arrival& arrival) {
  const std::uint64_t request_id = arrival.request_id;
  const std::uint32_t device = arrival.device;
  const double t = arrival.t_s;
  SimDevice& d = world_.devices()[device];
  world_.Advance(d, t);
  if (d.empty) {
    ++stats_.dropped_offline;
    return;
  }
  policy::DecisionInput in;
  in.request = arrival.request;
  const DeviceClass& cls = catalog_.device(d.profile);
  in.device.id = renderer_->DeviceId(device);
  in.device.profile = d.profile;
  in.device.battery_pct = world_.BatteryPct(d);
  in.device.charging = world_.Charging(d, t);
  in.device.thermal = world_.ThermalState(d);
  in.device.free_mem_mb = cls.ram_mb * 0.5;
  in.device.models = d.installed;
  in.device.models_warm = d.resident;
  if (d.has_warm_model && d.warm_until_s > t) in.device.models_warm.Insert(d.warm_model);

  in.network.type = arrival.network;
  in.network.rtt_ms = arrival.rtt_ms;
  in.network.metered = in.network.type == NetworkType::kCellular;

  const auto day = static_cast<std::int64_t>(t / 86400.0);
  if (day != cloud_spend_day_) {
    cloud_spend_day_ = day;
    cloud_spend_day_usd_ = 0;
  }
  in.fleet.cloud_healthy = CloudHealthyAsSeen(t);
  in.fleet.cloud_load = CloudLoad(t);
  in.fleet.budget_left_usd = fleet_.cloud.budget_usd_per_day - cloud_spend_day_usd_;

  if (d.peer_phone != kNoDevice) {
    const auto phone_index = static_cast<std::uint32_t>(d.peer_phone);
    SimDevice& phone = world_.devices()[phone_index];
    world_.Advance(phone, t);
    in.peer.phone_available = !phone.empty && arrival.phone_online &&
                              in.network.type != NetworkType::kOffline && PhoneAdmits(phone, t);
    in.peer.phone_battery_pct = world_.BatteryPct(phone);
    in.peer.phone_profile = phone.profile;
    in.peer.phone_thermal = world_.ThermalState(phone);
    in.peer.phone_models = phone.installed;
    in.peer.phone_models_warm = phone.resident;
    if (phone.has_warm_model && phone.warm_until_s > t) {
      in.peer.phone_models_warm.Insert(phone.warm_model);
    }
  }
  in.time.hour = arrival.hour;

  policy::Decide(policy_, in, result_);
  const Execution ex = Execute(device, t, in, result_, request_id);

  ++stats_.requests;
  if (ex.success) {
    ++stats_.succeeded;
    ++stats_.answered_by[static_cast<std::size_t>(ex.final_route.tier)];
    stats_.latency_ms.Add(ex.total_ms);
  }
  if (ex.count > 1) ++stats_.fell_back;
  stats_.cost_usd += ex.cost_usd;
  stats_.energy_j += ex.energy_j;

  SimulatedRequest& r = row_;
  r.run_id = run_id_;
  r.request_id = request_id;
  r.device = device;
  r.t_s = t;
  r.hour = in.time.hour;
  r.request = in.request;
  r.battery_pct = in.device.battery_pct;
  r.charging = in.device.charging;
  r.thermal = in.device.thermal;
  r.network = in.network.type;
  r.rtt_ms = in.network.rtt_ms;
  r.cloud_load = in.fleet.cloud_load;
  r.cloud_healthy = in.fleet.cloud_healthy;
  r.phone_available = in.peer.phone_available;
  r.decided = result_.ok;
  r.rule_index = result_.rule_index;
  r.route = result_.route;
  r.fallback = result_.fallback;
  r.fallback_count = result_.fallback_count;
  r.guards_applied = result_.guards_applied;
  r.deadline_ms = result_.deadline_ms;
  r.prediction = result_.prediction;

  r.success = ex.success;
  r.answered = ex.success || ex.tokens_out > 0;
  r.deadline_missed = ex.deadline_missed;
  r.final_route = ex.final_route;
  r.ttft_ms = ex.ttft_ms;
  r.total_ms = ex.total_ms;
  r.tokens_out = ex.tokens_out;
  r.cost_usd = ex.cost_usd;
  r.energy_j = ex.energy_j;
  r.quality =
      r.answered ? catalog_.model(ex.final_route.model).QualityAt(in.request.difficulty) : 0;
  r.label_correct = -1;
  r.label_model = "";
  if (r.answered && arrival.prompts != nullptr) {
    const LabeledPrompts& p = *arrival.prompts;
    if (ex.final_route.model == p.weak_model) {
      r.label_correct = p.weak_correct[arrival.prompt];
      r.label_model = "weak";
    }
    if (ex.final_route.model == p.strong_model) {
      r.label_correct = p.strong_correct[arrival.prompt];
      r.label_model = "strong";
    }
  }
  r.attempt_count = static_cast<std::uint8_t>(ex.count);
  for (int i = 0; i < ex.count; ++i) {
    const Attempt& a = ex.attempts[static_cast<std::size_t>(i)];
    r.attempts[static_cast<std::size_t>(i)] = {a.route, a.result, a.spent_ms};
  }
  sink_->AddRequest(r);
}

void Simulator::SampleBatteries(double t, std::int64_t run_id, RowSink& sink) {
  const std::int64_t t_ms = renderer_->UnixMs(t);
  auto& devices = world_.devices();
  for (std::uint32_t i = 0; i < devices.size(); ++i) {
    SimDevice& d = devices[i];
    if (d.on_mains) continue;
    world_.Advance(d, t);
    sink.AddBatterySample(run_id, i, t_ms, world_.BatteryPct(d), world_.Charging(d, t));
  }
}

SimulationStats Simulator::Run(std::int64_t run_id, RowSink& sink, const ProgressFn& progress) {
  run_id_ = run_id;
  sink_ = &sink;
  sink.SetRenderer(renderer_);
  const double sample_every = fleet_.battery_sample_minutes * 60.0;
  double next_sample = 0;
  // Progress every 65,536 requests or 1% of simulated time, whichever comes first; the first
  // call, at t = 0, marks the run's start.
  std::uint64_t last_progress = 0;
  const double progress_step_s = end_s_ / 100.0;
  double next_progress_s = progress_step_s;
  if (progress) progress(0.0, 0);
  ArrivalStream arrivals(world_, end_s_);
  for (auto block = arrivals.NextBlock(); !block.empty(); block = arrivals.NextBlock()) {
    for (std::size_t i = 0; i < block.size(); ++i) {
      // Devices are touched in random order: fetch the ones a few arrivals ahead.
      if (i + kPrefetchAhead < block.size()) {
        const SimDevice* ahead = &world_.devices()[block[i + kPrefetchAhead].device];
        __builtin_prefetch(ahead);
        __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 64);
        __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 128);
      }
      const Arrival& arrival = block[i];
      const double t = arrival.t_s;
      while (next_sample <= t) {
        SampleBatteries(next_sample, run_id, sink);
        next_sample += sample_every;
      }
      HandleArrival(arrival);
      if (progress && (stats_.requests - last_progress >= kProgressEvery || t >= next_progress_s)) {
        last_progress = stats_.requests;
        next_progress_s = t + progress_step_s;
        progress(t / 3600.0, stats_.requests);
      }
    }
  }
  while (next_sample <= end_s_) {
    SampleBatteries(next_sample, run_id, sink);
    next_sample += sample_every;
  }
  double idle_wh = 0, work_wh = 0, charged_wh = 0;
  std::uint64_t battery_devices = 0;
  for (SimDevice& d : world_.devices()) {
    world_.Advance(d, end_s_);
    stats_.battery_empty_events += d.empty_events;
    idle_wh += d.idle_wh;
    work_wh += d.work_requested_wh;
    charged_wh += d.charged_wh;
    if (!d.on_mains) ++battery_devices;
  }
  stats_.simulated_hours = end_s_ / 3600.0;
  sink.AddMetric(run_id, "requests", static_cast<double>(stats_.requests));
  sink.AddMetric(run_id, "dropped_offline", static_cast<double>(stats_.dropped_offline));
  sink.AddMetric(run_id, "battery_empty_events", static_cast<double>(stats_.battery_empty_events));
  sink.AddMetric(run_id, "battery_devices", static_cast<double>(battery_devices));
  sink.AddMetric(run_id, "device_days",
                 static_cast<double>(world_.devices().size()) * end_s_ / 86400.0);
  sink.AddMetric(run_id, "idle_energy_wh", idle_wh);
  sink.AddMetric(run_id, "request_energy_wh", work_wh);
  sink.AddMetric(run_id, "charged_energy_wh", charged_wh);
  sink.AddMetric(run_id, "simulated_hours", stats_.simulated_hours);
  if (progress) progress(stats_.simulated_hours, stats_.requests);
  return stats_;
}

}  // namespace partita::sim
