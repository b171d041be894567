// The gateway's metering ledger: one SQLite row per request that reached a model (WAL mode),
// written through storage::BatchWriter so event loops never block on SQLite.
//
// A row holds who asked (device), what for (model, upstream, attempts), how it ended (outcome,
// HTTP status), the tokens both as the upstream reported them and as the gateway counted them,
// which of the two the cost was computed from, the cost, and timings. It never holds prompt or
// answer text. Per UTC day and device, requests and cost are also summed in a small table, so
// today's spending is read back at start-up without scanning the rows. The schema is in
// docs/gateway.md.
// Thread-safe: Record() may be called from any thread; Open/Today* are blocking (start-up).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloud_gateway/reservation_journal.h"
#include "common/status.h"
#include "storage/batch_writer.h"

namespace partita::cloud_gateway {

struct LedgerEntry {
  // The request's reservation (Ledger::NextId()), stored in the row so that a restart knows
  // its row committed; 0: it reserved nothing (refused before). Not the row's id.
  std::int64_t reservation_id = 0;
  // The reservation journal slot to free once the row has committed (kNoSlot: none).
  std::uint32_t journal_slot = ReservationJournal::kNoSlot;
  std::int64_t started_unix_ms = 0;
  std::int32_t day = 0;  // UTC day the cost counts against
  std::string device;
  const std::string* model = nullptr;     // owned by the config (outlives the ledger)
  const std::string* upstream = nullptr;  // nullptr: no upstream was tried
  int attempts = 0;
  bool stream = false;
  const char* outcome = "ok";  // a static string (see docs/gateway.md)
  int http_status = 0;
  const char* error_kind = nullptr;  // backends::ErrorKindName of the last failure
  std::int64_t prompt_tokens = 0;    // the figures the cost was computed from
  std::int64_t completion_tokens = 0;
  bool usage_from_upstream = false;
  std::optional<std::int64_t> upstream_prompt_tokens;
  std::optional<std::int64_t> upstream_completion_tokens;
  std::int64_t counted_prompt_tokens = 0;
  std::int64_t counted_completion_tokens = 0;
  double cost_usd = 0;
  std::optional<double> ttft_ms;
  double total_ms = 0;
  std::int64_t request_bytes = 0;
  std::int64_t response_bytes = 0;
};

class Ledger {
 public:
  // Opens (creating) the database and its table; blocking.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path);
  ~Ledger();

  // A new reservation id, unique across restarts (ids start at the start time in ms << 20).
  // Any thread.
  std::int64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  // The rowid of the last row written; a row written later has a larger one. Any thread.
  std::int64_t written_rowid() const { return written_rowid_.load(std::memory_order_relaxed); }
  // Rows that carry a journal slot free it once committed. Set before any row is recorded.
  void SetJournal(ReservationJournal* journal) { journal_ = journal; }

  // Writes a row for each reservation a killed gateway left open, at its reserved cost
  // (outcome `crashed`), unless its row is already there; blocking (start-up). Returns how
  // many were settled and their cost.
  struct Settled {
    std::size_t requests = 0;
    double cost_usd = 0;
  };
  Result<Settled> SettleCrashed(const std::vector<ReservationJournal::Open>& open);

  // Queues a row; false when the writer's queue is full (the caller counts a dropped row).
  bool Record(LedgerEntry entry);
  // Queues rows to be written in one job (the gateway's I/O threads batch their rows).
  bool RecordBatch(std::vector<LedgerEntry> entries);
  // Blocks until every row recorded so far is committed.
  Status Flush();
  void Stop();

  std::uint64_t failed_writes() const;
  const std::string& path() const { return path_; }

  // Spending per device on `day`, from the rows already in the file (start-up).
  static Result<std::vector<std::pair<std::string, double>>> SpentOnDay(const std::string& path,
                                                                        std::int32_t day);

 private:
  Ledger(std::string path, std::unique_ptr<storage::BatchWriter> writer, std::int64_t next_id)
      : path_(std::move(path)), writer_(std::move(writer)), next_id_(next_id) {}
  // Frees the journal slots of rows that have been written (or failed).
  void ReleaseSlots(const std::vector<std::uint32_t>& slots);
  std::string path_;
  std::unique_ptr<storage::BatchWriter> writer_;
  std::atomic<std::int64_t> next_id_;
  std::atomic<std::int64_t> written_rowid_{0};
  ReservationJournal* journal_ = nullptr;
};

// Today's UTC date as the ledger's `day` text ("2026-11-23") for a day number.
std::string DayText(std::int32_t day);

}  // namespace partita::cloud_gateway
