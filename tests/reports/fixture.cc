#include "tests/reports/fixture.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "storage/sqlite.h"

namespace partita::reports::fixture {

namespace {

constexpr std::int64_t kOrigin = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

storage::RunInfo SimInfo(const std::string& label) {
  storage::RunInfo info;
  info.source = "sim";
  info.label = label;
  info.policy_name = label;
  info.policy_hash = std::string(64, 'a');
  info.fleet_name = "tiny";
  info.fleet_hash = std::string(64, 'b');
  info.catalog_hash = std::string(64, 'c');
  info.seed = 1;
  info.hours = 24;
  info.devices = 4;
  info.partita_version = "0.1.0";
  info.started_unix_ms = kOrigin;
  info.time_origin_unix_ms = kOrigin;
  return info;
}

Row Answer(const std::string& tier, double total_ms, double cost, double energy, double quality,
           int hour) {
  Row r;
  r.final_tier = tier;
  r.total_ms = total_ms;
  r.ttft_ms = total_ms / 4;
  r.cost_usd = cost;
  r.energy_j = energy;
  r.quality = quality;
  r.hour = hour;
  return r;
}

storage::DecisionRecord Decision(std::int64_t run_id, std::uint64_t id, const Row& row) {
  storage::DecisionRecord d;
  d.run_id = run_id;
  d.request_id = id;
  d.device_id = "device-" + std::to_string(id % 4);
  d.device_profile = "smart-speaker";
  d.household = "home-1";
  d.t_ms = kOrigin + row.hour * 3'600'000LL + static_cast<std::int64_t>(id);
  d.hour = row.hour;
  d.kind = "chat";
  d.privacy = row.guards.empty() ? "normal" : "private";
  d.tier =
      ParseTier(!row.decided_tier.empty() ? row.decided_tier
                                          : (row.final_tier.empty() ? "cloud" : row.final_tier));
  d.model = d.tier == Tier::kCloud ? "cloud-70b" : "milm-1.3b";
  d.fallback = "phone,cloud";
  d.guards = row.guards;
  d.deadline_ms = 4000;
  d.rule = "default";
  return d;
}

storage::OutcomeRecord Outcome(std::int64_t run_id, std::uint64_t id, const Row& row,
                               const storage::DecisionRecord& d) {
  storage::OutcomeRecord o;
  o.run_id = run_id;
  o.request_id = id;
  o.device_id = d.device_id;
  o.t_ms = d.t_ms + static_cast<std::int64_t>(row.total_ms);
  o.final_tier = ParseTier(row.final_tier);
  o.final_model = row.final_tier.empty() ? "" : d.model;
  o.success = row.success;
  o.truncated = row.truncated;
  o.ttft_ms = row.ttft_ms;
  o.total_ms = row.total_ms;
  o.cost_usd = row.cost_usd;
  o.energy_j = row.energy_j;
  o.quality = row.quality;
  o.label_correct = row.label_correct;
  o.label_model = row.label_model;
  o.attempts = row.attempts > 0 ? static_cast<std::uint32_t>(row.attempts)
                                : (row.fallback_cause.empty() ? 1 : 2);
  o.fallback_cause = row.fallback_cause;
  o.deadline_missed = row.deadline_missed;
  o.error = row.success ? "" : "every tier in the fallback chain failed";
  return o;
}

Result<std::unique_ptr<storage::Database>> CreateBulk(const std::string& path, bool drop_indexes) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
  Result<std::unique_ptr<storage::Database>> db = storage::Database::Open(path);
  if (!db.ok()) return db.status();
  PARTITA_RETURN_IF_ERROR(
      (*db)->Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536"));
  PARTITA_RETURN_IF_ERROR(storage::CreateRequestLogSchema(**db));
  if (drop_indexes) {
    PARTITA_RETURN_IF_ERROR((*db)->Exec("DROP INDEX requests_key; DROP INDEX battery_run"));
  }
  return db;
}

Status FinishBulk(storage::Database& db) {
  PARTITA_RETURN_IF_ERROR(db.Exec(
      "CREATE UNIQUE INDEX IF NOT EXISTS requests_key ON requests(run_id, device_id, request_id); "
      "CREATE INDEX IF NOT EXISTS battery_run ON battery(run_id, t_ms); PRAGMA journal_mode=WAL"));
  return Status::Ok();
}

}  // namespace

Run Balanced() {
  Run run;
  run.info = SimInfo("balanced");
  for (int i = 1; i <= 5; ++i) run.rows.push_back(Answer("device", 100.0 * i, 0, 36, 0.6, i - 1));
  for (int i = 6; i <= 7; ++i) run.rows.push_back(Answer("phone", 100.0 * i, 0, 72, 0.75, i - 1));
  for (int i = 8; i <= 9; ++i) {
    run.rows.push_back(Answer("cloud", 100.0 * i, 0.002, 0, 0.9, i - 1));
  }
  run.rows[0].guards = "private-stays-home";
  run.rows[1].guards = "private-stays-home";
  run.rows[6].fallback_cause = "refused";
  run.rows[6].decided_tier = "device";
  Row failed;
  failed.decided_tier = "cloud";
  failed.success = false;
  failed.total_ms = 4000;
  failed.fallback_cause = "no_first_token";
  failed.deadline_missed = true;
  failed.hour = 9;
  run.rows.push_back(failed);
  run.battery = {10, 30, 50, 100};
  run.metrics = {{"device_days", 2}, {"battery_empty_events", 3}, {"requests", 10}};
  return run;
}

Run BatterySaver() {
  Run run;
  run.info = SimInfo("battery-saver");
  for (int i = 1; i <= 10; ++i) {
    const bool device = i <= 2;
    run.rows.push_back(Answer(device ? "device" : "cloud", 200.0 * i, device ? 0 : 0.003,
                              device ? 36 : 0, device ? 0.6 : 0.9, (i - 1) % 24));
  }
  run.battery = {60, 80};
  run.metrics = {{"device_days", 2}, {"battery_empty_events", 0}, {"requests", 10}};
  return run;
}

Run SlowAndDear() {
  Run run = Balanced();
  run.info = SimInfo("slow-and-dear");
  for (Row& r : run.rows) {
    r.total_ms *= 2;
    r.ttft_ms *= 2;
    r.cost_usd *= 3;
  }
  return run;
}

Run RouterLog() {
  Run run;
  run.info.source = "router";
  run.info.label = "production";
  run.info.policy_name = "balanced";
  run.info.policy_hash = std::string(64, 'd');
  run.info.catalog_hash = std::string(64, 'c');
  run.info.partita_version = "0.1.0";
  run.info.started_unix_ms = kOrigin;
  run.info.time_origin_unix_ms = kOrigin;
  run.rows.push_back(Answer("device", 300, 0, 20, 0.6, 8));
  run.rows.push_back(Answer("cloud", 700, 0.004, 1, 0.9, 8));
  run.rows.push_back(Answer("cloud", 900, 0.002, 1, 0.9, 9));
  run.rows.push_back(Answer("phone", 500, 0, 30, 0.75, 9));
  Row pending;
  pending.outcome = false;
  pending.decided_tier = "cloud";
  pending.hour = 10;
  run.rows.push_back(pending);
  pending.decided_tier = "device";
  run.rows.push_back(pending);
  return run;
}

Status WriteRuns(const std::string& path, std::vector<Run> runs) {
  Result<std::unique_ptr<storage::Database>> opened = CreateBulk(path, false);
  if (!opened.ok()) return opened.status();
  storage::Database& db = **opened;
  PARTITA_RETURN_IF_ERROR(db.Exec("BEGIN"));
  for (Run& run : runs) {
    PARTITA_RETURN_IF_ERROR(storage::InsertRun(db, run.info));
    std::uint64_t id = 0;
    for (const Row& row : run.rows) {
      ++id;
      const storage::DecisionRecord d = Decision(run.info.run_id, id, row);
      if (row.outcome) {
        PARTITA_RETURN_IF_ERROR(
            storage::InsertRequest(db, d, Outcome(run.info.run_id, id, row, d)));
      } else {
        PARTITA_RETURN_IF_ERROR(storage::InsertDecision(db, d));
      }
    }
    std::int64_t t = kOrigin;
    for (double pct : run.battery) {
      PARTITA_RETURN_IF_ERROR(
          storage::InsertBatterySample(db, run.info.run_id, "device-1", t, pct, false));
      t += 1'800'000;
    }
    for (const auto& [name, value] : run.metrics) {
      PARTITA_RETURN_IF_ERROR(storage::InsertRunMetric(db, run.info.run_id, name, value));
    }
  }
  PARTITA_RETURN_IF_ERROR(db.Exec("COMMIT"));
  return FinishBulk(db);
}

namespace {

struct Profile {
  const char* name;
  std::array<double, 3> mix;  // device, phone, cloud
  double evening_cloud;       // share moved to the cloud from 18:00 (batteries are lower)
  double cloud_speed;         // cloud latency multiplier
  double cloud_price;         // cloud cost multiplier
  double cloud_quality;
  double drain;  // battery drain per 30 minutes, percent
};

constexpr std::array<Profile, 4> kProfiles = {{
    {"balanced", {0.50, 0.15, 0.35}, 0.05, 1.0, 1.0, 0.89, 3.1},
    {"battery-saver", {0.20, 0.20, 0.60}, 0.12, 1.0, 1.0, 0.89, 1.9},
    {"always-cloud", {0.02, 0.02, 0.96}, 0.0, 1.05, 1.0, 0.89, 1.5},
    {"latency-first", {0.32, 0.04, 0.64}, 0.0, 0.7, 1.8, 0.86, 2.6},
}};

constexpr std::array<double, 24> kHourWeight = {1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5,
                                                3.2, 2.8, 2.4, 2.3, 2.6, 2.4, 2.2, 2.3,
                                                2.6, 3.0, 3.6, 3.9, 3.5, 2.8, 2.0, 1.4};

const char* kProfilesNames[] = {"smart-speaker", "car-head-unit", "phone-mid", "tablet",
                                "smart-display"};
const char* kKinds[] = {"command", "chat", "reasoning"};
const char* kModels[] = {"milm-1.3b", "phi-3-mini-int4", "cloud-llama-70b"};
const char* kTierNames3[] = {"device", "phone", "cloud"};

}  // namespace

Status WriteScaleFixture(const std::string& path, const ScaleOptions& options) {
  Result<std::unique_ptr<storage::Database>> opened = CreateBulk(path, true);
  if (!opened.ok()) return opened.status();
  storage::Database& db = **opened;
  const int policies = std::clamp(options.policies, 1, static_cast<int>(kProfiles.size()));
  std::discrete_distribution<int> hour_dist(kHourWeight.begin(), kHourWeight.end());
  std::vector<std::string> device_ids(options.devices);
  for (std::uint32_t i = 0; i < options.devices; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "dev-%07u", i);
    device_ids[i] = buf;
  }
  for (int p = 0; p < policies; ++p) {
    const Profile& prof = kProfiles[static_cast<std::size_t>(p)];
    storage::RunInfo info;
    info.source = "sim";
    info.label = prof.name;
    info.policy_name = prof.name;
    char hash[65];
    std::snprintf(hash, sizeof hash, "%016llx%016llx%016llx%016llx",
                  static_cast<unsigned long long>(0x9e3779b97f4a7c15ull * (p + 1)),
                  static_cast<unsigned long long>(0xbf58476d1ce4e5b9ull * (p + 3)),
                  static_cast<unsigned long long>(0x94d049bb133111ebull * (p + 5)),
                  static_cast<unsigned long long>(0x2545f4914f6cdd1dull * (p + 7)));
    info.policy_hash = hash;
    info.fleet_name = "city-100k";
    info.fleet_hash = "5b1f0c9e7a3d2e4f6a8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f";
    info.catalog_hash = "0c4e1a7f9b2d3c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";
    info.seed = options.seed;
    info.hours = options.hours;
    info.devices = options.devices;
    info.partita_version = "0.1.0";
    info.started_unix_ms = kOrigin;
    info.time_origin_unix_ms = kOrigin;
    PARTITA_RETURN_IF_ERROR(storage::InsertRun(db, info));

    std::mt19937_64 rng(options.seed * 1000 + static_cast<std::uint64_t>(p));
    std::uniform_real_distribution<double> u(0, 1);
    std::normal_distribution<double> z(0, 1);
    storage::DecisionRecord d;
    storage::OutcomeRecord o;
    d.run_id = o.run_id = info.run_id;
    d.policy_version = info.policy_hash.substr(0, 12);
    double energy_total = 0;
    PARTITA_RETURN_IF_ERROR(db.Exec("BEGIN"));
    for (std::uint64_t i = 0; i < options.requests_per_run; ++i) {
      if (i > 0 && i % 50'000 == 0) {
        PARTITA_RETURN_IF_ERROR(db.Exec("COMMIT; BEGIN"));
      }
      const std::uint32_t dev = static_cast<std::uint32_t>(u(rng) * options.devices);
      const int hour = hour_dist(rng);
      const bool evening = hour >= 18;
      const bool peak = hour >= 18 && hour <= 21;
      std::array<double, 3> mix = prof.mix;
      if (evening) {
        const double moved = std::min(mix[0], prof.evening_cloud);
        mix[0] -= moved;
        mix[2] += moved;
      }
      const double pick = u(rng);
      int tier = pick < mix[0] ? 0 : pick < mix[0] + mix[1] ? 1 : 2;
      const bool guarded = u(rng) < 0.07;
      if (guarded && tier == 2) tier = 1;
      const int decided = tier;

      // Attempt on the decided tier; a failure falls back to the next tier.
      static const double kFail[] = {0.03, 0.04, 0.018};
      static const char* kCause[] = {"refused", "unavailable", "no_first_token"};
      std::string cause;
      double spent = 0, energy = 0;
      if (u(rng) < kFail[tier]) {
        cause = (tier == 2 && u(rng) < 0.25) ? "stalled" : kCause[tier];
        spent = 200 + 700 * u(rng);
        energy += tier == 0 ? 6 : 0;
        tier = tier == 2 ? 1 : tier + 1;
        if (guarded && tier == 2) tier = 1;
      }
      static const double kMedian[] = {600, 1050, 850};
      static const double kSigma[] = {0.33, 0.42, 0.5};
      double total = kMedian[tier] * std::exp(kSigma[tier] * z(rng));
      if (tier == 2) total *= prof.cloud_speed * (peak ? 1.3 : 1.0);
      if (u(rng) < 0.01) total *= 3;
      total += spent;
      static const double kTtftShare[] = {0.22, 0.25, 0.35};
      const double ttft = spent + (total - spent) * kTtftShare[tier] * (0.8 + 0.4 * u(rng));
      bool success = true, truncated = false, missed = false, answered = true;
      if (u(rng) < 0.003) {
        success = false;
        answered = false;
        if (cause.empty()) cause = kCause[tier];
      } else if (total > 5000) {
        success = false;
        truncated = true;
        missed = true;
      }
      double cost = 0;
      if (tier == 2 && answered) {
        cost = 0.0011 * prof.cloud_price * std::exp(0.6 * z(rng));
      }
      static const double kEnergy[] = {30, 48, 1.5};
      energy += kEnergy[tier] * std::exp(0.3 * z(rng));
      energy_total += energy;
      static const double kQuality[] = {0.58, 0.74, 0.0};
      const double quality = answered
                                 ? std::clamp((tier == 2 ? prof.cloud_quality : kQuality[tier]) +
                                                  0.05 * (u(rng) - 0.5),
                                              0.0, 1.0)
                                 : 0;

      d.request_id = i + 1;
      d.device_id = device_ids[dev];
      d.device_profile = kProfilesNames[dev % 5];
      d.household = "household-" + std::to_string(dev / 3);
      d.t_ms = kOrigin + hour * 3'600'000LL + static_cast<std::int64_t>(u(rng) * 3'600'000);
      d.hour = hour;
      d.kind = kKinds[i % 3];
      d.privacy = guarded ? "private" : "normal";
      d.tokens_in = 20 + static_cast<std::uint32_t>(u(rng) * 400);
      d.tokens_out = 40 + static_cast<std::uint32_t>(u(rng) * 300);
      d.difficulty = u(rng);
      d.battery_pct = 100 * u(rng);
      d.thermal = "nominal";
      d.network = dev % 7 == 0 ? "cellular" : "wifi";
      d.rtt_ms = 20 + 60 * u(rng);
      d.cloud_load = peak ? 0.8 : 0.4;
      d.phone_available = dev % 3 != 0;
      d.rule = decided == 0 ? "easy-stays-local" : decided == 1 ? "phone-nearby" : "default";
      d.tier = static_cast<Tier>(decided);
      d.model = kModels[decided];
      d.fallback = decided == 2 ? "phone,device" : "phone,cloud";
      d.guards = guarded ? "private-stays-home" : "";
      d.deadline_ms = 5000;
      d.pred_latency_ms = kMedian[decided];
      d.pred_cost_usd = decided == 2 ? 0.0011 : 0;
      d.pred_energy_j = kEnergy[decided];
      d.pred_quality = decided == 2 ? prof.cloud_quality : kQuality[decided];

      o.request_id = d.request_id;
      o.device_id = d.device_id;
      o.t_ms = d.t_ms + static_cast<std::int64_t>(total);
      o.final_tier = answered ? std::optional<Tier>(static_cast<Tier>(tier)) : std::nullopt;
      o.final_model = answered ? kModels[tier] : "";
      o.success = success;
      o.truncated = truncated;
      o.ttft_ms = ttft;
      o.total_ms = total;
      o.tokens_out = d.tokens_out;
      o.cost_usd = cost;
      o.energy_j = energy;
      o.quality = quality;
      o.attempts = cause.empty() ? 1 : 2;
      o.fallback_cause = cause;
      o.trail =
          cause.empty()
              ? std::string(kTierNames3[tier]) + ":ok:" + std::to_string(static_cast<int>(total))
              : std::string(kTierNames3[decided]) + ":" + cause + ":" +
                    std::to_string(static_cast<int>(spent)) + ">" + kTierNames3[tier] +
                    ":ok:" + std::to_string(static_cast<int>(total - spent));
      o.deadline_missed = missed;
      o.error = success  ? ""
                : missed ? "deadline passed"
                         : "every tier in the fallback chain failed";
      PARTITA_RETURN_IF_ERROR(storage::InsertRequest(db, d, o));
    }

    // Battery: 60% of devices run on battery, sampled every hour (as the shipped city fleet
    // does) from t = 0 to the end.
    std::uint64_t empty_events = 0, battery_devices = 0;
    if (options.battery) {
      const int samples = static_cast<int>(options.hours) + 1;
      for (std::uint32_t dev = 0; dev < options.devices; ++dev) {
        if (dev % 5 >= 3) continue;
        ++battery_devices;
        double level = 40 + 60 * u(rng);
        for (int s = 0; s < samples; ++s) {
          const int hour = s % 24;
          const bool charging = hour < 7 || u(rng) < 0.12;
          if (charging) {
            level = std::min(100.0, level + 12 + 12 * u(rng));
          } else {
            const double before = level;
            level = std::max(0.0, level - 2 * prof.drain * (0.4 + 1.2 * u(rng)));
            if (before > 0 && level <= 0) ++empty_events;
          }
          PARTITA_RETURN_IF_ERROR(storage::InsertBatterySample(
              db, info.run_id, device_ids[dev], kOrigin + s * 3'600'000LL, level, charging));
        }
      }
    }
    PARTITA_RETURN_IF_ERROR(db.Exec("COMMIT"));
    const double device_days = options.devices * options.hours / 24.0;
    const std::pair<const char*, double> metrics[] = {
        {"requests", static_cast<double>(options.requests_per_run)},
        {"dropped_offline", 0},
        {"battery_empty_events", static_cast<double>(empty_events)},
        {"battery_devices", static_cast<double>(battery_devices)},
        {"device_days", device_days},
        {"idle_energy_wh", device_days * 2.4},
        {"request_energy_wh", energy_total / 3600},
        {"charged_energy_wh", device_days * 2.4 + energy_total / 3600},
        {"simulated_hours", options.hours}};
    for (const auto& [name, value] : metrics) {
      PARTITA_RETURN_IF_ERROR(storage::InsertRunMetric(db, info.run_id, name, value));
    }
  }
  return FinishBulk(db);
}

}  // namespace partita::reports::fixture
