// The JSON report (Boost.JSON): the same figures as the other formats, raw numbers, null for
// figures the inputs do not record.
#include <boost/json.hpp>

#include "common/json_writer.h"
#include "reports/render.h"

namespace partita::reports {

namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, kOutcomeSlots> kSlotNames = {"device", "phone", "cloud",
                                                                    "unanswered"};

json::value Opt(const std::optional<double>& v) {
  if (!v) return nullptr;
  return *v;
}

json::value PercentilesJson(const Percentiles& p) {
  if (p.count == 0) return nullptr;
  return json::object{{"count", p.count}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}};
}

json::object RunJson(const RunFigures& r) {
  json::object o;
  o["name"] = r.name;
  o["file"] = r.file;
  o["run"] = json::object{{"run_id", r.info.run_id},
                          {"source", r.info.source},
                          {"label", r.info.label},
                          {"policy_name", r.info.policy_name},
                          {"policy_hash", r.info.policy_hash},
                          {"fleet_name", r.info.fleet_name},
                          {"fleet_hash", r.info.fleet_hash},
                          {"catalog_hash", r.info.catalog_hash},
                          {"seed", r.info.seed},
                          {"hours", r.info.hours},
                          {"devices", r.info.devices},
                          {"partita_version", r.info.partita_version},
                          {"started_unix_ms", r.info.started_unix_ms},
                          {"time_origin_unix_ms", r.info.time_origin_unix_ms}};
  o["requests"] = r.requests;
  o["completed"] = r.completed;
  o["in_flight"] = r.in_flight();
  o["succeeded"] = r.succeeded;
  o["truncated"] = r.truncated;
  o["deadline_missed"] = r.deadline_missed;
  o["guard_hits"] = r.guard_hits;
  o["fell_back"] = r.fell_back;
  o["failed"] = r.failed();
  o["failed_single_attempt"] = r.failed_single_attempt;
  o["decided_offline"] = r.decided_offline;
  o["success_rate"] = Opt(r.success_rate);
  json::object decided, answered, tier_latency;
  for (std::size_t t = 0; t < kTierCount; ++t) {
    decided[kSlotNames[t]] = r.decided[t];
    tier_latency[kSlotNames[t]] = PercentilesJson(r.tier_latency_ms[t]);
  }
  for (std::size_t s = 0; s < kOutcomeSlots; ++s) answered[kSlotNames[s]] = r.answered[s];
  o["decided"] = std::move(decided);
  o["answered"] = std::move(answered);
  o["latency_ms"] = PercentilesJson(r.latency_ms);
  o["tier_latency_ms"] = std::move(tier_latency);
  o["ttft_ms"] = PercentilesJson(r.ttft_ms);
  o["cost_usd"] = r.cost_usd;
  o["cost_per_1k_usd"] = Opt(r.cost_per_1k_usd);
  o["cost_per_device_day_usd"] = Opt(r.cost_per_device_day_usd);
  o["energy_j"] = r.energy_j;
  o["energy_wh_per_device_day"] = Opt(r.energy_wh_per_device_day);
  o["device_days"] = Opt(r.device_days);
  o["battery_empty_events"] = Opt(r.battery_empty_events);
  o["drain_wh_per_device_day"] = Opt(r.drain_wh_per_device_day);
  o["dropped_battery_empty"] = Opt(r.dropped_battery_empty);
  o["mean_quality"] = Opt(r.mean_quality);
  o["labeled_answers"] = r.labeled_answers;
  o["labeled_accuracy"] = Opt(r.labeled_accuracy);
  o["labeled_strong_share"] = Opt(r.labeled_strong_share);
  o["on_frontier"] = r.on_frontier;
  json::object causes;
  for (const auto& [cause, count] : r.fallback_causes) causes[cause] = count;
  o["fallback_causes"] = std::move(causes);
  json::array hours;
  for (std::size_t h = 0; h < 24; ++h) {
    json::object row{{"hour", h}};
    for (std::size_t s = 0; s < kOutcomeSlots; ++s) row[kSlotNames[s]] = r.by_hour[h][s];
    hours.push_back(std::move(row));
  }
  o["by_hour"] = std::move(hours);
  json::array cdf;
  for (const CdfPoint& p : r.latency_cdf) cdf.push_back(json::array{p.ms, p.fraction});
  o["latency_cdf"] = std::move(cdf);
  if (r.battery.samples == 0) {
    o["battery"] = nullptr;
  } else {
    json::array bins;
    for (std::uint64_t b : r.battery.buckets) bins.push_back(b);
    o["battery"] = json::object{{"samples", r.battery.samples},   {"bins_5pct", std::move(bins)},
                                {"empty", r.battery.empty},       {"below_20", r.battery.below_20},
                                {"charging", r.battery.charging}, {"mean_pct", r.battery.mean_pct}};
  }
  json::object metrics;
  for (const auto& [name, value] : r.metrics) metrics[name] = value;
  o["metrics"] = std::move(metrics);
  return o;
}

}  // namespace

std::string RenderJson(const Report& report) {
  json::object root;
  root["generator"] = "partita " + report.partita_version;
  root["command"] = report.command;
  json::array inputs;
  for (const InputFile& f : report.inputs) {
    inputs.push_back(json::object{{"path", f.path}, {"runs", f.runs}, {"requests", f.requests}});
  }
  root["inputs"] = std::move(inputs);
  json::array runs;
  for (const RunFigures& r : report.runs) runs.push_back(RunJson(r));
  root["runs"] = std::move(runs);
  json::array frontier;
  for (std::size_t i : report.frontier) frontier.push_back(json::string(report.runs[i].name));
  root["frontier"] = std::move(frontier);
  json::array findings;
  for (const Finding& f : report.findings) {
    findings.push_back(json::object{{"kind", KindName(f.kind)}, {"text", f.text}});
  }
  root["findings"] = std::move(findings);
  json::array rerun;
  for (const std::string& c : report.rerun) rerun.push_back(json::string(c));
  root["rerun"] = std::move(rerun);
  return ToJson(root) + "\n";
}

}  // namespace partita::reports
