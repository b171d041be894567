#include "sim/replay.h"

#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "common/hash.h"
#include "device_profiles/predictor.h"
#include "policies/availability.h"
#include "policies/decision.h"
#include "sim/run_database.h"
#include "storage/request_log.h"
#include "storage/sqlite.h"

namespace partita::sim {

namespace {

// One logged request: the decision columns the replay needs, and the outcome as it happened.
struct Logged {
  storage::DecisionRecord decision;
  storage::OutcomeRecord outcome;
  bool has_outcome = false;
};

Result<std::vector<Logged>> ReadLog(const std::string& path) {
  Result<std::unique_ptr<storage::Database>> db = storage::OpenForReading(path);
  if (!db.ok()) return db.status();
  Result<storage::RequestReader> reader = storage::RequestReader::Open(
      **db,
      "FROM requests q JOIN runs r USING (run_id) WHERE r.source = 'router' "
      "ORDER BY q.t_ms, q.rowid");
  if (!reader.ok()) {
    return InvalidArgument("'" + path +
                           "' is not a Partita decision log: " + reader.status().message());
  }
  std::vector<Logged> out;
  for (;;) {
    Logged l;
    Result<bool> row = reader->Next(l.decision, l.outcome, l.has_outcome);
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(std::move(l));
  }
  if (out.empty()) {
    return InvalidArgument("'" + path + "' has no router decisions to replay");
  }
  return out;
}

// The facts the router logged, as the decision function's input.
bool ToInput(const Logged& l, const Catalog& catalog, DeviceClassIndex phone_profile,
             policy::DecisionInput& in) {
  const storage::DecisionRecord& d = l.decision;
  std::optional<DeviceClassIndex> profile = catalog.FindDevice(d.device_profile);
  if (!profile) return false;
  in = {};
  in.device.id = d.device_id;
  in.device.profile = *profile;
  in.device.battery_pct = d.battery_pct;
  in.device.charging = d.charging;
  in.device.thermal = ParseThermal(d.thermal).value_or(Thermal::kNominal);
  for (const ModelRuntime& rt : catalog.device(*profile).runtimes) {
    in.device.models.Insert(rt.model);
    if (rt.resident) in.device.models_warm.Insert(rt.model);
  }
  in.network.type = ParseNetworkType(d.network).value_or(NetworkType::kWifi);
  in.network.rtt_ms = d.rtt_ms;
  in.network.metered = in.network.type == NetworkType::kCellular;
  in.request.tokens_in = d.tokens_in;
  in.request.tokens_out = d.tokens_out;
  in.request.difficulty = d.difficulty;
  in.request.privacy = ParsePrivacy(d.privacy).value_or(Privacy::kNormal);
  in.request.kind = ParseRequestKind(d.kind).value_or(RequestKind::kChat);
  in.request.latency_budget_ms = d.latency_budget_ms;
  in.request.max_cost_usd = d.max_cost_usd;
  in.fleet.cloud_healthy = d.cloud_healthy;
  in.fleet.cloud_load = d.cloud_load;
  in.peer.phone_available = d.phone_available;
  in.peer.phone_profile = phone_profile;
  for (const ModelRuntime& rt : catalog.device(phone_profile).runtimes) {
    in.peer.phone_models.Insert(rt.model);
    if (rt.resident) in.peer.phone_models_warm.Insert(rt.model);
  }
  in.time.hour = d.hour;
  return true;
}

// The predicted outcome of a decision: the first route of `chain` that the logged facts make
// available runs, with the catalog predictor's latency, cost, energy and quality.
storage::OutcomeRecord PredictOutcome(const policy::Policy& p, const policy::DecisionInput& in,
                                      const std::vector<policy::Route>& chain,
                                      const storage::DecisionRecord& d) {
  const Catalog& catalog = *p.catalog();
  storage::OutcomeRecord o{d.run_id, d.request_id, d.device_id};
  o.t_ms = d.t_ms;
  for (const policy::Route& r : chain) {
    const policy::Availability a = policy::CheckAvailability(p, in, r);
    ++o.attempts;
    if (a != policy::Availability::kAvailable) {
      storage::AppendTrailStep(o.trail, Name(r.tier), "unavailable", 0);
      if (o.fallback_cause.empty()) o.fallback_cause = "unavailable";
      continue;
    }
    const Prediction pr = policy::PredictRoute(p, in, r);
    storage::AppendTrailStep(o.trail, Name(r.tier), "ok", std::trunc(pr.latency_ms));
    o.success = true;
    o.final_tier = r.tier;
    o.final_model = catalog.model(r.model).name;
    o.ttft_ms = pr.ttft_ms;
    o.total_ms = pr.latency_ms;
    o.tokens_out = d.tokens_out;
    o.cost_usd = pr.cost_usd;
    o.energy_j = pr.energy_j;
    o.quality = pr.quality;
    o.deadline_missed = d.deadline_ms > 0 && pr.ttft_ms > d.deadline_ms;
    break;
  }
  o.error = storage::FailureReason(!chain.empty(), o.success, false);
  return o;
}

// The best-quality model the facts make available on `tier` (the logged model when none is).
ModelIndex BestAvailableOn(const policy::Policy& p, const policy::DecisionInput& in, Tier tier,
                           ModelIndex fallback) {
  const Catalog& catalog = *p.catalog();
  std::optional<ModelIndex> best;
  for (std::size_t m = 0; m < catalog.models().size(); ++m) {
    const auto model = static_cast<ModelIndex>(m);
    if (policy::CheckAvailability(p, in, {tier, model}) != policy::Availability::kAvailable) {
      continue;
    }
    if (!best || catalog.model(model).QualityScore() > catalog.model(*best).QualityScore()) {
      best = model;
    }
  }
  return best.value_or(fallback);
}

// The route production logged and its fallback tiers. A fallback tier's model is not logged:
// the one that finally answered on that tier when it did, else the best-quality model the
// facts make available there.
std::vector<policy::Route> LoggedChain(const Logged& l, const policy::Policy& p,
                                       const policy::DecisionInput& in) {
  const Catalog& catalog = *p.catalog();
  std::vector<policy::Route> chain;
  const std::optional<Tier> tier = l.decision.tier;
  const std::optional<ModelIndex> model = catalog.FindModel(l.decision.model);
  if (!tier || !model) return chain;
  chain.push_back({*tier, *model});
  std::string_view rest = l.decision.fallback;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::optional<Tier> t = ParseTier(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!t) continue;
    const std::optional<ModelIndex> final_model = catalog.FindModel(l.outcome.final_model);
    const bool answered_there = l.has_outcome && l.outcome.final_tier == *t && final_model;
    chain.push_back({*t, answered_there ? *final_model : BestAvailableOn(p, in, *t, *model)});
  }
  return chain;
}

}  // namespace

Result<std::vector<ReplaySummary>> RunReplay(const ReplayOptions& options) {
  if (options.policies.empty()) return InvalidArgument("--replay needs at least one --policy");
  Result<std::vector<Logged>> log = ReadLog(options.log_path);
  if (!log.ok()) return log.status();
  const Catalog& catalog = *options.policies[0]->catalog();
  DeviceClassIndex phone_profile = 0;
  for (std::size_t i = 0; i < catalog.devices().size(); ++i) {
    if (catalog.devices()[i].accepts_offload) {
      phone_profile = static_cast<DeviceClassIndex>(i);
      break;
    }
  }
  Result<std::unique_ptr<RunDatabase>> db = RunDatabase::Create(options.out_path);
  if (!db.ok()) return db.status();
  std::vector<ReplaySummary> summaries;

  // The production run, as logged.
  storage::RunInfo production;
  production.source = "router";
  production.label = "production (as logged)";
  production.partita_version = PARTITA_VERSION;
  PARTITA_RETURN_IF_ERROR((*db)->BeginRun(production));
  ReplaySummary prod{production.label, 0, 0, 0};
  for (const Logged& l : *log) {
    storage::DecisionRecord d = l.decision;
    storage::OutcomeRecord o = l.outcome;
    d.run_id = o.run_id = production.run_id;
    if (!l.has_outcome) o = storage::OutcomeRecord{production.run_id, d.request_id, d.device_id};
    (*db)->AddRequestRecords(d, o);
    ++prod.requests;
    if (o.success) ++prod.answered;
  }
  summaries.push_back(prod);

  // The same decisions with predicted outcomes: what the replayed policies compare against
  // (predictions against predictions, not against measurements).
  storage::RunInfo predicted;
  predicted.source = "replay";
  predicted.label = "production (predicted)";
  predicted.catalog_hash = catalog.content_hash();
  predicted.partita_version = PARTITA_VERSION;
  PARTITA_RETURN_IF_ERROR((*db)->BeginRun(predicted));
  ReplaySummary base{predicted.label, 0, 0, 0};
  for (const Logged& l : *log) {
    policy::DecisionInput in;
    if (!ToInput(l, catalog, phone_profile, in)) continue;
    storage::DecisionRecord d = l.decision;
    d.run_id = predicted.run_id;
    storage::OutcomeRecord o =
        PredictOutcome(*options.policies[0], in, LoggedChain(l, *options.policies[0], in), d);
    (*db)->AddRequestRecords(d, o);
    ++base.requests;
    if (o.success) ++base.answered;
  }
  summaries.push_back(base);

  for (const policy::PolicyPtr& p : options.policies) {
    storage::RunInfo run;
    run.source = "replay";
    run.label = p->name() + " (replayed)";
    run.policy_name = p->name();
    run.policy_hash = Sha256Hex(p->source());
    run.catalog_hash = p->catalog()->content_hash();
    run.partita_version = PARTITA_VERSION;
    PARTITA_RETURN_IF_ERROR((*db)->BeginRun(run));
    ReplaySummary summary{run.label, 0, 0, 0};
    const std::string version = p->version().substr(0, storage::kPolicyVersionChars);
    policy::DecisionResult result;
    for (const Logged& l : *log) {
      policy::DecisionInput in;
      if (!ToInput(l, catalog, phone_profile, in)) continue;
      policy::Decide(*p, in, result);
      storage::DecisionRecord d = l.decision;
      d.run_id = run.run_id;
      d.policy_version = version;
      d.rule = std::string(p->rule_name(result.rule_index));
      d.tier = result.ok ? std::optional<Tier>(result.route.tier) : std::nullopt;
      d.model = result.ok ? catalog.model(result.route.model).name : "";
      d.fallback = policy::FallbackTierList(result);
      d.guards = p->GuardList(result.guards_applied);
      d.deadline_ms = result.deadline_ms;
      d.decided_offline = false;
      d.decide_us = 0;
      d.pred_latency_ms = result.prediction.latency_ms;
      d.pred_ttft_ms = result.prediction.ttft_ms;
      d.pred_cost_usd = result.prediction.cost_usd;
      d.pred_energy_j = result.prediction.energy_j;
      d.pred_quality = result.prediction.quality;
      std::vector<policy::Route> chain;
      if (result.ok) chain.push_back(result.route);
      for (int i = 0; i < result.fallback_count; ++i) {
        chain.push_back(result.fallback[static_cast<std::size_t>(i)]);
      }
      storage::OutcomeRecord o = PredictOutcome(*p, in, chain, d);
      (*db)->AddRequestRecords(d, o);
      ++summary.requests;
      if (o.success) ++summary.answered;
      if (d.tier != l.decision.tier) ++summary.changed;
    }
    summaries.push_back(summary);
  }
  PARTITA_RETURN_IF_ERROR((*db)->Finish());
  return summaries;
}

}  // namespace partita::sim
