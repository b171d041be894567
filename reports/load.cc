// Loading runs: one streaming pass over `requests` (split by rowid range over threads), one over
// `battery`, then `run_metrics`; percentiles and CDF points from the collected latencies.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "reports/report.h"
#include "storage/request_log.h"
#include "storage/sqlite.h"

namespace partita::reports {

namespace {

constexpr std::int64_t kRowsPerThreadMin = 250'000;
constexpr int kMaxThreads = 4;

// What one thread collects for one run.
struct Accumulator {
  std::uint64_t requests = 0, completed = 0, succeeded = 0, truncated = 0, deadline_missed = 0,
                guard_hits = 0, fell_back = 0, failed_single_attempt = 0, decided_offline = 0;
  std::array<std::uint64_t, kTierCount> decided{};
  std::array<std::uint64_t, kOutcomeSlots> answered{};
  std::array<std::array<std::uint64_t, kOutcomeSlots>, 24> by_hour{};
  std::vector<std::pair<std::string, std::uint64_t>> causes;
  std::array<std::vector<float>, kOutcomeSlots> latency;  // successful, by final tier ([3]: other)
  std::vector<float> ttft;
  double cost = 0, energy = 0, quality = 0;
  std::uint64_t labeled = 0, labeled_correct = 0, labeled_by_strong = 0;
  BatteryFigures battery;
  double battery_sum = 0;

  void AddCause(std::string_view cause, std::uint64_t n) {
    for (auto& [name, count] : causes) {
      if (name == cause) {
        count += n;
        return;
      }
    }
    causes.emplace_back(std::string(cause), n);
  }

  void Merge(Accumulator& o) {
    requests += o.requests;
    completed += o.completed;
    succeeded += o.succeeded;
    truncated += o.truncated;
    deadline_missed += o.deadline_missed;
    guard_hits += o.guard_hits;
    fell_back += o.fell_back;
    failed_single_attempt += o.failed_single_attempt;
    decided_offline += o.decided_offline;
    for (std::size_t i = 0; i < kTierCount; ++i) decided[i] += o.decided[i];
    for (std::size_t i = 0; i < kOutcomeSlots; ++i) answered[i] += o.answered[i];
    for (std::size_t h = 0; h < 24; ++h) {
      for (std::size_t i = 0; i < kOutcomeSlots; ++i) by_hour[h][i] += o.by_hour[h][i];
    }
    for (auto& [name, count] : o.causes) AddCause(name, count);
    for (std::size_t i = 0; i < kOutcomeSlots; ++i) {
      if (latency[i].empty()) {
        latency[i].swap(o.latency[i]);
      } else {
        latency[i].insert(latency[i].end(), o.latency[i].begin(), o.latency[i].end());
      }
      std::vector<float>().swap(o.latency[i]);
    }
    ttft.insert(ttft.end(), o.ttft.begin(), o.ttft.end());
    std::vector<float>().swap(o.ttft);
    cost += o.cost;
    energy += o.energy;
    quality += o.quality;
    labeled += o.labeled;
    labeled_correct += o.labeled_correct;
    labeled_by_strong += o.labeled_by_strong;
    battery.samples += o.battery.samples;
    for (std::size_t i = 0; i < kBatteryBuckets; ++i) battery.buckets[i] += o.battery.buckets[i];
    battery.empty += o.battery.empty;
    battery.below_20 += o.battery.below_20;
    battery.charging += o.battery.charging;
    battery_sum += o.battery_sum;
  }
};

// Accumulators by run_id; runs are few, rows arrive clustered by run.
class RunMap {
 public:
  Accumulator& Get(std::int64_t run_id) {
    if (last_ != nullptr && last_id_ == run_id) return *last_;
    last_id_ = run_id;
    last_ = &runs_[run_id];
    return *last_;
  }
  std::map<std::int64_t, Accumulator>& runs() { return runs_; }

 private:
  std::map<std::int64_t, Accumulator> runs_;
  std::int64_t last_id_ = 0;
  Accumulator* last_ = nullptr;
};

Result<std::unique_ptr<storage::Database>> OpenReadOnly(const std::string& path) {
  Result<std::unique_ptr<storage::Database>> db = storage::OpenForReading(path);
  if (!db.ok()) {
    return InvalidArgument("'" + path +
                           "' is not a Partita run database: it is not an SQLite file (" +
                           db.status().message() +
                           "). Give a RUN.db written by `partita sim` or a router's decision log");
  }
  // Reading is faster through a memory map than through read(2) into the page cache.
  (void)(*db)->Exec("PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -65536");
  return db;
}

// The columns the report reads, in select-list order; Col() is a column's position in it.
using storage::RequestColumn;
constexpr std::array kScanColumns = {
    RequestColumn::run_id,
    RequestColumn::hour,
    RequestColumn::tier,
    RequestColumn::guards,
    RequestColumn::success,
    RequestColumn::final_tier,
    RequestColumn::truncated,
    RequestColumn::ttft_ms,
    RequestColumn::total_ms,
    RequestColumn::cost_usd,
    RequestColumn::energy_j,
    RequestColumn::quality,
    RequestColumn::label_correct,
    RequestColumn::label_model,
    RequestColumn::fallback_cause,
    RequestColumn::deadline_missed,
    RequestColumn::decided_offline,
    RequestColumn::attempts,
};
constexpr int Col(RequestColumn c) {
  for (std::size_t i = 0; i < kScanColumns.size(); ++i) {
    if (kScanColumns[i] == c) return static_cast<int>(i);
  }
  throw "column not in kScanColumns";  // a compile-time error: Col() is only used in constants
}

// The tier of a column value (NULL included): its index, or -1.
int TierIndex(sqlite3_stmt* st, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, column));
  if (text == nullptr) return -1;
  const std::optional<Tier> tier =
      ParseTier(std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(st, column))));
  return tier ? static_cast<int>(*tier) : -1;
}

// The hot loop: raw sqlite3_column_* calls, as few as possible per row (reports over millions
// of rows spend most of their time here).
Status ScanRequests(storage::Database& db, std::int64_t lo, std::int64_t hi, RunMap& out) {
  Result<std::string> columns = storage::SelectList(db, kScanColumns);
  if (!columns.ok()) return columns.status();
  Result<storage::Statement> s =
      db.Prepare("SELECT " + *columns + " FROM requests WHERE rowid BETWEEN ?1 AND ?2");
  if (!s.ok()) return s.status();
  s->Bind(1, lo).Bind(2, hi);
  sqlite3_stmt* st = s->handle();
  constexpr int kRunId = Col(RequestColumn::run_id), kHour = Col(RequestColumn::hour),
                kTier = Col(RequestColumn::tier), kGuards = Col(RequestColumn::guards),
                kSuccess = Col(RequestColumn::success), kFinalTier = Col(RequestColumn::final_tier),
                kTruncated = Col(RequestColumn::truncated), kTtft = Col(RequestColumn::ttft_ms),
                kTotal = Col(RequestColumn::total_ms), kCost = Col(RequestColumn::cost_usd),
                kEnergy = Col(RequestColumn::energy_j), kQuality = Col(RequestColumn::quality),
                kLabel = Col(RequestColumn::label_correct),
                kLabelModel = Col(RequestColumn::label_model),
                kCause = Col(RequestColumn::fallback_cause),
                kDeadline = Col(RequestColumn::deadline_missed),
                kOffline = Col(RequestColumn::decided_offline),
                kAttempts = Col(RequestColumn::attempts);
  for (;;) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Accumulator& a = out.Get(sqlite3_column_int64(st, kRunId));
    ++a.requests;
    const int decided = TierIndex(st, kTier);
    if (decided >= 0) ++a.decided[static_cast<std::size_t>(decided)];
    if (sqlite3_column_bytes(st, kGuards) > 0) ++a.guard_hits;
    if (sqlite3_column_int(st, kOffline) != 0) ++a.decided_offline;
    if (sqlite3_column_type(st, kSuccess) == SQLITE_NULL) continue;  // in flight: no outcome yet
    ++a.completed;
    const auto hour = static_cast<std::size_t>(std::clamp(sqlite3_column_int(st, kHour), 0, 23));
    const int final_tier = TierIndex(st, kFinalTier);
    const std::size_t slot = final_tier >= 0 ? static_cast<std::size_t>(final_tier) : kUnanswered;
    ++a.answered[slot];
    ++a.by_hour[hour][slot];
    const bool success = sqlite3_column_int(st, kSuccess) != 0;
    const int attempts = sqlite3_column_int(st, kAttempts);
    if (success) {
      ++a.succeeded;
      a.latency[slot].push_back(static_cast<float>(sqlite3_column_double(st, kTotal)));
      a.ttft.push_back(static_cast<float>(sqlite3_column_double(st, kTtft)));
    }
    if (sqlite3_column_int(st, kTruncated) != 0) ++a.truncated;
    a.cost += sqlite3_column_double(st, kCost);
    a.energy += sqlite3_column_double(st, kEnergy);
    if (slot != kUnanswered) a.quality += sqlite3_column_double(st, kQuality);
    if (const int label = sqlite3_column_int(st, kLabel); label >= 0) {
      ++a.labeled;
      a.labeled_correct += label > 0 ? 1 : 0;
      const unsigned char* model = sqlite3_column_text(st, kLabelModel);
      if (model != nullptr && model[0] == 's') ++a.labeled_by_strong;
    }
    // Fell back: tried on more than one tier, as `partita sim` counts it; grouped by the cause
    // of the first failure. A lone failed attempt had nothing to fall back to.
    if (attempts > 1) {
      ++a.fell_back;
      a.AddCause(sqlite3_column_bytes(st, kCause) > 0
                     ? reinterpret_cast<const char*>(sqlite3_column_text(st, kCause))
                     : "unknown",
                 1);
    } else if (!success) {
      ++a.failed_single_attempt;
    }
    if (sqlite3_column_int(st, kDeadline) != 0) ++a.deadline_missed;
  }
  return Status::Ok();
}

Status ScanBattery(storage::Database& db, std::int64_t lo, std::int64_t hi, RunMap& out) {
  Result<storage::Statement> s =
      db.Prepare("SELECT run_id, battery_pct, charging FROM battery WHERE rowid BETWEEN ?1 AND ?2");
  if (!s.ok()) return s.status();
  s->Bind(1, lo).Bind(2, hi);
  sqlite3_stmt* st = s->handle();
  for (;;) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Accumulator& a = out.Get(sqlite3_column_int64(st, 0));
    const double pct = std::clamp(sqlite3_column_double(st, 1), 0.0, 100.0);
    BatteryFigures& b = a.battery;
    ++b.samples;
    const auto bucket =
        std::min<std::size_t>(kBatteryBuckets - 1, static_cast<std::size_t>(pct / 5));
    ++b.buckets[bucket];
    if (pct <= 0) ++b.empty;
    if (pct < 20) ++b.below_20;
    if (sqlite3_column_int(st, 2) != 0) ++b.charging;
    a.battery_sum += pct;
  }
  return Status::Ok();
}

using ScanFn = Status (*)(storage::Database&, std::int64_t, std::int64_t, RunMap&);

// Scans `table` by rowid range: in this thread when small, else over up to `threads` threads,
// each with its own read-only connection; merges into `out`.
Status ParallelScan(const std::string& path, storage::Database& db, std::string_view table,
                    int threads, ScanFn scan, RunMap& out) {
  // Two subqueries: SQLite answers each from the b-tree's ends (min and max together would
  // scan an index).
  const std::string name(table);
  Result<storage::Statement> range = db.Prepare("SELECT (SELECT min(rowid) FROM " + name +
                                                "), (SELECT max(rowid) FROM " + name + ")");
  if (!range.ok()) return range.status();
  Result<bool> row = range->Step();
  if (!row.ok()) return row.status();
  if (!*row || range->IsNull(0)) return Status::Ok();
  const std::int64_t lo = range->Int(0);
  const std::int64_t hi = range->Int(1);
  const std::int64_t span = hi - lo + 1;
  int n = threads > 0
              ? threads
              : std::min<int>(kMaxThreads, std::max(1u, std::thread::hardware_concurrency()));
  n = static_cast<int>(std::clamp<std::int64_t>(span / kRowsPerThreadMin, 1, n));
  if (threads > 0) n = threads;
  if (n <= 1) return scan(db, lo, hi, out);

  std::vector<RunMap> parts(static_cast<std::size_t>(n));
  std::vector<Status> statuses(static_cast<std::size_t>(n));
  std::vector<std::thread> workers;
  const std::int64_t step = (span + n - 1) / n;
  for (int i = 0; i < n; ++i) {
    const std::int64_t a = lo + step * i;
    const std::int64_t b = std::min(hi, a + step - 1);
    workers.emplace_back([&, i, a, b] {
      Result<std::unique_ptr<storage::Database>> conn = OpenReadOnly(path);
      if (!conn.ok()) {
        statuses[static_cast<std::size_t>(i)] = conn.status();
        return;
      }
      statuses[static_cast<std::size_t>(i)] =
          scan(**conn, a, b, parts[static_cast<std::size_t>(i)]);
    });
  }
  for (std::thread& t : workers) t.join();
  for (const Status& s : statuses) PARTITA_RETURN_IF_ERROR(s);
  for (RunMap& part : parts) {
    for (auto& [id, acc] : part.runs()) out.Get(id).Merge(acc);
  }
  return Status::Ok();
}

// Nearest rank: the value at rank ceil(permille * n / 1000) (1-based) of the sorted sample.
std::size_t RankIndex(std::size_t n, std::uint64_t permille) {
  const std::uint64_t k = (permille * n + 999) / 1000;
  return static_cast<std::size_t>(std::max<std::uint64_t>(k, 1) - 1);
}

Percentiles FromSorted(const std::vector<float>& v) {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  p.p50 = v[RankIndex(v.size(), 500)];
  p.p95 = v[RankIndex(v.size(), 950)];
  p.p99 = v[RankIndex(v.size(), 990)];
  return p;
}

// Sorts floats by their bits (LSD radix, 3 passes of 11 bits): several times faster than
// std::sort on millions of latencies. The key maps IEEE order onto unsigned order.
void RadixSort(std::vector<float>& v) {
  if (v.size() < 4096) {
    std::sort(v.begin(), v.end());
    return;
  }
  std::vector<std::uint32_t> keys(v.size()), tmp(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t b;
    std::memcpy(&b, &v[i], sizeof b);
    keys[i] = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
  for (int shift = 0; shift < 32; shift += 11) {
    std::array<std::size_t, 2049> count{};
    for (std::uint32_t k : keys) ++count[((k >> shift) & 0x7FF) + 1];
    for (std::size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
    for (std::uint32_t k : keys) tmp[count[(k >> shift) & 0x7FF]++] = k;
    keys.swap(tmp);
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::uint32_t k = keys[i];
    const std::uint32_t b = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
    std::memcpy(&v[i], &b, sizeof b);
  }
}

Percentiles Select(std::vector<float>& v) {
  RadixSort(v);
  return FromSorted(v);
}

std::vector<CdfPoint> CdfFromSorted(const std::vector<float>& v) {
  std::vector<CdfPoint> points;
  if (v.empty()) return points;
  std::vector<std::uint64_t> permilles;
  for (std::uint64_t q = 0; q <= 990; q += 5) permilles.push_back(q);
  for (std::uint64_t q = 991; q <= 1000; ++q) permilles.push_back(q);
  const double n = static_cast<double>(v.size());
  for (std::uint64_t q : permilles) {
    const std::size_t i = q == 0 ? 0 : RankIndex(v.size(), q);
    const CdfPoint pt{v[i], static_cast<double>(i + 1) / n};
    if (!points.empty() && points.back().ms == pt.ms) {
      points.back().fraction = pt.fraction;
      continue;
    }
    if (!points.empty() && points.back().fraction >= pt.fraction) continue;
    points.push_back(pt);
  }
  // The last point of a run of equal values is where the CDF reaches its fraction.
  for (CdfPoint& p : points) {
    const auto upper = std::upper_bound(v.begin(), v.end(), static_cast<float>(p.ms));
    p.fraction = static_cast<double>(upper - v.begin()) / n;
  }
  return points;
}

void Finish(Accumulator& a, RunFigures& r) {
  r.requests = a.requests;
  r.completed = a.completed;
  r.succeeded = a.succeeded;
  r.truncated = a.truncated;
  r.deadline_missed = a.deadline_missed;
  r.guard_hits = a.guard_hits;
  r.fell_back = a.fell_back;
  r.failed_single_attempt = a.failed_single_attempt;
  r.decided_offline = a.decided_offline;
  r.decided = a.decided;
  r.answered = a.answered;
  r.by_hour = a.by_hour;
  r.fallback_causes = std::move(a.causes);
  std::sort(r.fallback_causes.begin(), r.fallback_causes.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  r.cost_usd = a.cost;
  r.energy_j = a.energy;
  r.quality_sum = a.quality;
  r.labeled_answers = a.labeled;
  r.labeled_correct = a.labeled_correct;
  r.labeled_by_strong = a.labeled_by_strong;
  // Sort each tier's latencies, then merge them: the overall sample, sorted.
  for (std::size_t t = 0; t < kTierCount; ++t) r.tier_latency_ms[t] = Select(a.latency[t]);
  RadixSort(a.latency[kUnanswered]);  // successes from a tier this version does not know
  std::vector<float> all, part;
  for (auto& v : a.latency) {
    part.resize(all.size() + v.size());
    std::merge(all.begin(), all.end(), v.begin(), v.end(), part.begin());
    all.swap(part);
    std::vector<float>().swap(v);
  }
  r.latency_ms = FromSorted(all);
  r.latency_cdf = CdfFromSorted(all);
  r.ttft_ms = Select(a.ttft);
  r.battery = a.battery;
  if (a.battery.samples > 0) {
    r.battery.mean_pct = a.battery_sum / static_cast<double>(a.battery.samples);
  }
}

bool HasTable(storage::Database& db, std::string_view name) {
  Result<storage::Statement> s =
      db.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
  if (!s.ok()) return false;
  s->Bind(1, name);
  Result<bool> row = s->Step();
  return row.ok() && *row && s->Int(0) > 0;
}

}  // namespace

std::optional<double> RunFigures::Metric(std::string_view metric) const {
  for (const auto& [n, v] : metrics) {
    if (n == metric) return v;
  }
  return std::nullopt;
}

Result<std::vector<RunFigures>> LoadRuns(const std::string& path, int threads) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound("'" + path +
                    "' does not exist. Give a run database written by `partita sim "
                    "--out RUN.db` or a router's decision log");
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    return InvalidArgument("'" + path + "' is not a file. Give a run database (RUN.db)");
  }
  Result<std::unique_ptr<storage::Database>> opened = OpenReadOnly(path);
  if (!opened.ok()) return opened.status();
  storage::Database& db = **opened;
  if (!HasTable(db, "runs") || !HasTable(db, "requests")) {
    return InvalidArgument("'" + path +
                           "' is an SQLite database but not a Partita run database (it has no "
                           "'runs' and 'requests' tables). Give a RUN.db written by `partita "
                           "sim` or a router's decision log");
  }
  Result<std::int64_t> version = db.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status().WithContext("'" + path + "'");
  if (*version > storage::kRequestLogSchemaVersion) {
    return FailedPrecondition("'" + path + "' has request-log schema version " +
                              std::to_string(*version) + "; this partita reads up to version " +
                              std::to_string(storage::kRequestLogSchemaVersion) +
                              ". Use a newer partita to report on it");
  }
  Result<std::vector<storage::RunInfo>> infos = storage::ReadRuns(db);
  if (!infos.ok()) return infos.status().WithContext("'" + path + "'");
  if (infos->empty()) {
    return InvalidArgument("'" + path +
                           "' is an empty run database (no runs). Write runs into it with "
                           "`partita sim ... --out " +
                           path + "`, or use a router log that has served requests");
  }

  RunMap accumulators;
  for (const storage::RunInfo& info : *infos) accumulators.Get(info.run_id);
  PARTITA_RETURN_IF_ERROR(ParallelScan(path, db, "requests", threads, ScanRequests, accumulators)
                              .WithContext("reading '" + path + "'"));
  if (HasTable(db, "battery")) {
    PARTITA_RETURN_IF_ERROR(ParallelScan(path, db, "battery", threads, ScanBattery, accumulators)
                                .WithContext("reading '" + path + "'"));
  }
  const bool has_metrics = HasTable(db, "run_metrics");

  std::vector<RunFigures> runs(infos->size());
  {
    // Sorting latencies is the rest of the work: one run per thread.
    const std::size_t width = std::max(1u, std::thread::hardware_concurrency());
    for (std::size_t first = 0; first < runs.size(); first += width) {
      std::vector<std::thread> workers;
      for (std::size_t i = first; i < std::min(runs.size(), first + width); ++i) {
        Accumulator& acc = accumulators.Get((*infos)[i].run_id);
        workers.emplace_back([&acc, &run = runs[i]] { Finish(acc, run); });
      }
      for (std::thread& t : workers) t.join();
    }
  }
  std::uint64_t total_requests = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const storage::RunInfo& info = (*infos)[i];
    RunFigures& r = runs[i];
    r.file = path;
    r.info = info;
    r.name = info.label.empty() ? "run " + std::to_string(info.run_id) : info.label;
    if (has_metrics) {
      Result<std::vector<std::pair<std::string, double>>> m =
          storage::ReadRunMetrics(db, info.run_id);
      if (!m.ok()) return m.status().WithContext("'" + path + "'");
      r.metrics = std::move(*m);
    }
    Derive(r);
    total_requests += r.requests;
  }
  if (total_requests == 0) {
    return InvalidArgument("'" + path + "' has " + std::to_string(runs.size()) +
                           " run(s) but no requests: nothing to report yet");
  }
  return runs;
}

void Derive(RunFigures& r) {
  const auto d = [](std::uint64_t n) { return static_cast<double>(n); };
  r.success_rate.reset();
  r.cost_per_1k_usd.reset();
  r.mean_quality.reset();
  r.labeled_accuracy.reset();
  r.labeled_strong_share.reset();
  r.cost_per_device_day_usd.reset();
  r.energy_wh_per_device_day.reset();
  if (r.completed > 0) {
    r.success_rate = d(r.succeeded) / d(r.completed);
    r.cost_per_1k_usd = r.cost_usd / d(r.completed) * 1000.0;
  }
  const std::uint64_t answered = r.completed - r.answered[kUnanswered];
  if (answered > 0) r.mean_quality = r.quality_sum / d(answered);
  if (r.labeled_answers > 0) {
    r.labeled_accuracy = d(r.labeled_correct) / d(r.labeled_answers);
    r.labeled_strong_share = d(r.labeled_by_strong) / d(r.labeled_answers);
  }
  r.device_days = r.Metric("device_days");
  if (r.device_days && *r.device_days <= 0) r.device_days.reset();
  if (r.device_days) {
    r.cost_per_device_day_usd = r.cost_usd / *r.device_days;
    r.energy_wh_per_device_day = r.energy_j / 3600.0 / *r.device_days;
  }
  r.battery_empty_events = r.Metric("battery_empty_events");
  r.drain_wh_per_device_day.reset();
  const std::optional<double> idle = r.Metric("idle_energy_wh");
  const std::optional<double> work = r.Metric("request_energy_wh");
  if (r.device_days && idle && work) r.drain_wh_per_device_day = (*idle + *work) / *r.device_days;
  r.dropped_battery_empty = r.Metric("dropped_offline");
}

}  // namespace partita::reports
