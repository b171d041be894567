#include "cloud_gateway/ledger.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <optional>
#include <set>

#include "common/log.h"

namespace partita::cloud_gateway {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS gateway_requests (
  id INTEGER PRIMARY KEY,
  started_unix_ms INTEGER NOT NULL,
  day TEXT NOT NULL,
  device TEXT NOT NULL,
  model TEXT NOT NULL,
  upstream TEXT,
  attempts INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  http_status INTEGER NOT NULL,
  error_kind TEXT,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  usage_source TEXT NOT NULL,
  upstream_prompt_tokens INTEGER,
  upstream_completion_tokens INTEGER,
  counted_prompt_tokens INTEGER NOT NULL,
  counted_completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  ttft_ms REAL,
  total_ms REAL NOT NULL,
  request_bytes INTEGER NOT NULL,
  response_bytes INTEGER NOT NULL,
  reservation_id INTEGER
);
CREATE TABLE IF NOT EXISTS gateway_daily_spend (
  day TEXT NOT NULL,
  device TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  PRIMARY KEY (day, device)
) WITHOUT ROWID;
)sql";

constexpr const char* kAddSpend = R"sql(
INSERT INTO gateway_daily_spend (day, device, requests, cost_usd) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (day, device) DO UPDATE SET requests = requests + excluded.requests,
  cost_usd = cost_usd + excluded.cost_usd)sql";

constexpr int kColumns = 23;
// Rows per multi-row INSERT: one statement step per 16 rows instead of per row.
constexpr int kRowsPerInsert = 16;

// INSERT INTO gateway_requests (...) VALUES (?,...), ... for `rows` rows.
std::string InsertSql(int rows) {
  std::string sql =
      "INSERT INTO gateway_requests (started_unix_ms, day, device, model, upstream, attempts, "
      "stream, outcome, http_status, error_kind, prompt_tokens, completion_tokens, usage_source, "
      "upstream_prompt_tokens, upstream_completion_tokens, counted_prompt_tokens, "
      "counted_completion_tokens, cost_usd, ttft_ms, total_ms, request_bytes, response_bytes, "
      "reservation_id) "
      "VALUES ";
  for (int r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ",(";
    for (int c = 0; c < kColumns; ++c) sql += c == 0 ? "?" : ",?";
    sql += ")";
  }
  return sql;
}

const std::string& InsertOneSql() {
  static const std::string sql = InsertSql(1);
  return sql;
}

const std::string& InsertManySql() {
  static const std::string sql = InsertSql(kRowsPerInsert);
  return sql;
}

// The first failed row is logged; all are counted by the BatchWriter.
std::atomic<std::uint64_t> g_failed_writes{0};

// Binds one row's values at parameters base+1 ... base+kColumns, without copying its text:
// the rows, `day` and the names they point to outlive the statement's Run().
void BindRow(storage::Statement& s, int base, const LedgerEntry& e, const std::string& day) {
  auto text_or_null = [&](int i, const char* v) {
    if (v != nullptr) {
      s.BindView(base + i, v);
    } else {
      s.BindNull(base + i);
    }
  };
  auto int_or_null = [&](int i, const std::optional<std::int64_t>& v) {
    if (v) {
      s.Bind(base + i, *v);
    } else {
      s.BindNull(base + i);
    }
  };
  s.Bind(base + 1, e.started_unix_ms)
      .BindView(base + 2, day)
      .BindView(base + 3, e.device)
      .BindView(base + 4, *e.model);
  text_or_null(5, e.upstream != nullptr ? e.upstream->c_str() : nullptr);
  s.Bind(base + 6, e.attempts)
      .Bind(base + 7, e.stream)
      .BindView(base + 8, e.outcome)
      .Bind(base + 9, e.http_status);
  text_or_null(10, e.error_kind);
  s.Bind(base + 11, e.prompt_tokens)
      .Bind(base + 12, e.completion_tokens)
      .BindView(base + 13, e.usage_from_upstream ? "upstream" : "counted");
  int_or_null(14, e.upstream_prompt_tokens);
  int_or_null(15, e.upstream_completion_tokens);
  s.Bind(base + 16, e.counted_prompt_tokens)
      .Bind(base + 17, e.counted_completion_tokens)
      .Bind(base + 18, e.cost_usd);
  if (e.ttft_ms) {
    s.Bind(base + 19, *e.ttft_ms);
  } else {
    s.BindNull(base + 19);
  }
  s.Bind(base + 20, e.total_ms).Bind(base + 21, e.request_bytes).Bind(base + 22, e.response_bytes);
  if (e.reservation_id != 0) {
    s.Bind(base + 23, e.reservation_id);
  } else {
    s.BindNull(base + 23);
  }
}

// Inserts rows[begin, end) (all of one day, `day`): groups of kRowsPerInsert in one statement.
Status InsertRows(storage::Database& db, const std::vector<const LedgerEntry*>& rows,
                  const std::string& day) {
  std::size_t i = 0;
  while (rows.size() - i >= static_cast<std::size_t>(kRowsPerInsert)) {
    storage::Statement* s = db.Cached(InsertManySql());
    if (s == nullptr) return Internal("cannot prepare the ledger insert: " + db.LastError());
    for (int r = 0; r < kRowsPerInsert; ++r) BindRow(*s, r * kColumns, *rows[i + r], day);
    PARTITA_RETURN_IF_ERROR(s->RunRebound());
    i += kRowsPerInsert;
  }
  for (; i < rows.size(); ++i) {
    storage::Statement* s = db.Cached(InsertOneSql());
    if (s == nullptr) return Internal("cannot prepare the ledger insert: " + db.LastError());
    BindRow(*s, 0, *rows[i], day);
    PARTITA_RETURN_IF_ERROR(s->RunRebound());
  }
  return Status::Ok();
}

// Adds a batch's requests and cost per (day, device) to gateway_daily_spend.
Status AddSpend(storage::Database& db, const std::vector<const LedgerEntry*>& rows) {
  struct Sum {
    std::int64_t requests = 0;
    double cost = 0;
  };
  std::map<std::pair<std::int32_t, std::string_view>, Sum> sums;
  for (const LedgerEntry* e : rows) {
    Sum& sum = sums[{e->day, e->device}];
    ++sum.requests;
    sum.cost += e->cost_usd;
  }
  storage::Statement* s = db.Cached(kAddSpend);
  if (s == nullptr) return Internal("cannot prepare the spend update: " + db.LastError());
  for (const auto& [key, sum] : sums) {
    s->Bind(1, std::string_view(DayText(key.first)))
        .Bind(2, key.second)
        .Bind(3, sum.requests)
        .Bind(4, sum.cost);
    PARTITA_RETURN_IF_ERROR(s->Run());
  }
  return Status::Ok();
}

}  // namespace

std::string DayText(std::int32_t day) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  Result<std::unique_ptr<storage::Database>> db = storage::Database::Open(path);
  if (!db.ok()) return db.status().WithContext("ledger");
  PARTITA_RETURN_IF_ERROR((*db)->Exec(kSchema).WithContext("ledger '" + path + "'"));
  // A ledger an older gateway made has no reservation_id column yet.
  Result<std::int64_t> has_column = (*db)->QueryInt(
      "SELECT count(*) FROM pragma_table_info('gateway_requests') WHERE name = 'reservation_id'");
  if (!has_column.ok()) return has_column.status().WithContext("ledger '" + path + "'");
  if (*has_column == 0) {
    PARTITA_RETURN_IF_ERROR(
        (*db)
            ->Exec("ALTER TABLE gateway_requests ADD COLUMN reservation_id INTEGER")
            .WithContext("ledger '" + path + "'"));
  }
  if ((*db)->Cached(InsertOneSql()) == nullptr || (*db)->Cached(InsertManySql()) == nullptr) {
    return Internal("ledger '" + path + "': cannot prepare insert: " + (*db)->LastError());
  }
  Result<std::int64_t> max_rowid =
      (*db)->QueryInt("SELECT coalesce(max(rowid), 0) FROM gateway_requests");
  if (!max_rowid.ok()) return max_rowid.status().WithContext("ledger '" + path + "'");
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  auto writer = std::make_unique<storage::BatchWriter>(std::move(*db));
  auto ledger = std::unique_ptr<Ledger>(new Ledger(path, std::move(writer), now_ms << 20));
  ledger->written_rowid_.store(*max_rowid);
  return ledger;
}

Result<Ledger::Settled> Ledger::SettleCrashed(const std::vector<ReservationJournal::Open>& open) {
  auto settled = std::make_shared<Settled>();
  std::promise<Status> committed;
  std::future<Status> done = committed.get_future();
  const bool queued = writer_->Submit(
      [&open, settled](storage::Database& db) -> Status {
        // A reservation's row, if it committed, came after its claim: after its watermark.
        std::int64_t watermark = INT64_MAX;
        for (const ReservationJournal::Open& o : open) watermark = std::min(watermark, o.watermark);
        Result<storage::Statement> q = db.Prepare(
            "SELECT reservation_id FROM gateway_requests WHERE rowid > ?1 AND reservation_id IS "
            "NOT NULL");
        if (!q.ok()) return q.status();
        q->Bind(1, watermark);
        std::set<std::int64_t> written;
        for (;;) {
          Result<bool> row = q->Step();
          if (!row.ok()) return row.status();
          if (!*row) break;
          written.insert(q->Int(0));
        }
        std::vector<LedgerEntry> rows;
        std::vector<std::string> models;
        models.reserve(open.size());
        for (const ReservationJournal::Open& o : open) {
          if (written.count(o.id) > 0) continue;  // its row committed before the crash
          models.push_back(o.model);
          LedgerEntry e;
          e.reservation_id = o.id;
          e.started_unix_ms = o.started_unix_ms;
          e.day = o.day;
          e.device = o.device;
          e.model = &models.back();
          e.stream = o.stream;
          e.outcome = "crashed";
          e.cost_usd = static_cast<double>(o.reserved_pico_usd) / 1e12;
          rows.push_back(std::move(e));
        }
        std::vector<const LedgerEntry*> pointers;
        for (const LedgerEntry& e : rows) {
          Status s = InsertRows(db, {&e}, DayText(e.day));
          if (!s.ok()) return s;
          pointers.push_back(&e);
          ++settled->requests;
          settled->cost_usd += e.cost_usd;
        }
        return AddSpend(db, pointers);
      },
      [&committed](const Status& s) { committed.set_value(s); });
  if (!queued) return Unavailable("the ledger's writer is not running");
  PARTITA_RETURN_IF_ERROR(done.get());
  return *settled;
}

void Ledger::ReleaseSlots(const std::vector<std::uint32_t>& slots) {
  if (journal_ == nullptr) return;
  for (const std::uint32_t slot : slots) journal_->Release(slot);
}

Ledger::~Ledger() { Stop(); }

bool Ledger::Record(LedgerEntry entry) {
  std::vector<std::uint32_t> slots;
  if (entry.journal_slot != ReservationJournal::kNoSlot) slots.push_back(entry.journal_slot);
  const std::vector<std::uint32_t> if_dropped = slots;
  const bool queued = writer_->Submit(
      [this, e = std::move(entry)](storage::Database& db) {
        Status s = InsertRows(db, {&e}, DayText(e.day));
        written_rowid_.store(sqlite3_last_insert_rowid(db.handle()), std::memory_order_relaxed);
        if (s.ok()) s = AddSpend(db, {&e});
        if (!s.ok()) {
          if (g_failed_writes.fetch_add(1) == 0) LogError("gateway", "ledger: " + s.message());
        }
        return s;
      },
      [this, slots = std::move(slots)](const Status&) { ReleaseSlots(slots); });
  if (!queued) ReleaseSlots(if_dropped);
  return queued;
}

bool Ledger::RecordBatch(std::vector<LedgerEntry> entries) {
  if (entries.empty()) return true;
  std::vector<std::uint32_t> slots;
  for (LedgerEntry& e : entries) {
    if (e.journal_slot != ReservationJournal::kNoSlot) slots.push_back(e.journal_slot);
  }
  const std::vector<std::uint32_t> if_dropped = slots;
  const bool queued = writer_->Submit(
      [this, rows = std::move(entries)](storage::Database& db) {
        // Rows of one day are inserted together (a batch spans two days only at midnight).
        Status first;
        std::vector<const LedgerEntry*> same_day;
        same_day.reserve(rows.size());
        std::vector<const LedgerEntry*> written;
        written.reserve(rows.size());
        std::size_t i = 0;
        while (i < rows.size()) {
          const std::int32_t day = rows[i].day;
          same_day.clear();
          for (; i < rows.size() && rows[i].day == day; ++i) same_day.push_back(&rows[i]);
          Status s = InsertRows(db, same_day, DayText(day));
          if (s.ok()) {
            written.insert(written.end(), same_day.begin(), same_day.end());
          } else if (first.ok()) {
            first = s;
          }
        }
        written_rowid_.store(sqlite3_last_insert_rowid(db.handle()), std::memory_order_relaxed);
        if (Status s = AddSpend(db, written); !s.ok() && first.ok()) first = s;
        if (!first.ok() && g_failed_writes.fetch_add(1) == 0) {
          LogError("gateway", "ledger: " + first.message());
        }
        return first;
      },
      [this, slots = std::move(slots)](const Status&) { ReleaseSlots(slots); });
  if (!queued) ReleaseSlots(if_dropped);
  return queued;
}

Status Ledger::Flush() { return writer_->Flush(); }

void Ledger::Stop() { writer_->Stop(); }

std::uint64_t Ledger::failed_writes() const { return writer_->stats().failed_jobs; }

Result<std::vector<std::pair<std::string, double>>> Ledger::SpentOnDay(const std::string& path,
                                                                       std::int32_t day) {
  storage::OpenOptions o;
  Result<std::unique_ptr<storage::Database>> db = storage::Database::Open(path, o);
  if (!db.ok()) return db.status();
  PARTITA_RETURN_IF_ERROR((*db)->Exec(kSchema));
  Result<storage::Statement> q =
      (*db)->Prepare("SELECT device, cost_usd FROM gateway_daily_spend WHERE day = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, std::string_view(DayText(day)));
  std::vector<std::pair<std::string, double>> out;
  for (;;) {
    Result<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(std::string(q->Text(0)), q->Double(1));
  }
  return out;
}

}  // namespace partita::cloud_gateway
