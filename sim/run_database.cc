#include "sim/run_database.h"

#include <cassert>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace partita::sim {

namespace {
constexpr std::size_t kBatchRows = 8192;
}  // namespace

Result<std::unique_ptr<RunDatabase>> RunDatabase::Create(const std::string& path) {
  const std::string partial = path + ".partial";
  std::error_code ec;
  std::filesystem::remove(partial, ec);
  std::filesystem::remove(partial + "-wal", ec);
  std::filesystem::remove(partial + "-shm", ec);
  Result<std::unique_ptr<storage::Database>> db = storage::Database::Open(partial);
  if (!db.ok()) return db.status();
  PARTITA_RETURN_IF_ERROR(
      (*db)->Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536"));
  PARTITA_RETURN_IF_ERROR(storage::CreateRequestLogSchema(**db));
  // Bulk load without the unique index; Finish() builds it once.
  PARTITA_RETURN_IF_ERROR(
      (*db)->Exec("DROP INDEX IF EXISTS requests_key; "
                  "DROP INDEX IF EXISTS battery_run"));
  storage::BatchWriter::Options options;
  options.max_batch = 1;  // each job is already a batch of rows: one transaction per job
  options.max_queue = 4;  // bounded memory: the simulation waits for the writer
  auto writer = std::make_unique<storage::BatchWriter>(std::move(*db), options);
  return std::unique_ptr<RunDatabase>(new RunDatabase(path, partial, std::move(writer)));
}

RunDatabase::RunDatabase(std::string path, std::string partial_path,
                         std::unique_ptr<storage::BatchWriter> writer)
    : path_(std::move(path)),
      partial_path_(std::move(partial_path)),
      writer_(std::move(writer)),
      current_(std::make_unique<Batch>()) {}

RunDatabase::~RunDatabase() {
  if (!finished_) {
    writer_->Stop();
    std::error_code ec;
    std::filesystem::remove(partial_path_, ec);
  }
}

std::unique_ptr<RunDatabase::Batch> RunDatabase::TakeFreeBatch() {
  std::lock_guard<std::mutex> lock(free_mu_);
  if (free_.empty()) return std::make_unique<Batch>();
  std::unique_ptr<Batch> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void RunDatabase::SubmitCurrent() {
  if (current_->rows() == 0 && current_->metrics.empty()) return;
  std::shared_ptr<Batch> batch(current_.release());
  current_ = TakeFreeBatch();
  current_->renderer = batch->renderer;
  writer_->SubmitWait(
      [batch](storage::Database& db) -> Status {
        if (!batch->simulated.empty()) {
          storage::DecisionRecord decision;
          storage::OutcomeRecord outcome;
          for (const SimulatedRequest& r : batch->simulated) {
            batch->renderer->Render(r, decision, outcome);
            PARTITA_RETURN_IF_ERROR(storage::InsertRequest(db, decision, outcome));
          }
        }
        for (std::size_t i = 0; i < batch->record_count; ++i) {
          PARTITA_RETURN_IF_ERROR(
              storage::InsertRequest(db, batch->records[i].first, batch->records[i].second));
        }
        for (const Batch::Sample& s : batch->samples) {
          PARTITA_RETURN_IF_ERROR(storage::InsertBatterySample(
              db, s.run_id, batch->renderer->DeviceId(s.device), s.t_ms, s.pct, s.charging));
        }
        for (const Batch::Metric& m : batch->metrics) {
          PARTITA_RETURN_IF_ERROR(storage::InsertRunMetric(db, m.run_id, m.name, m.value));
        }
        return Status::Ok();
      },
      [this, batch](const Status& status) {
        std::lock_guard<std::mutex> lock(free_mu_);
        if (!status.ok() && write_error_.ok()) write_error_ = status;
        // Recycle the batch's storage (vectors' capacity, the records' strings).
        auto recycled = std::make_unique<Batch>();
        recycled->simulated.swap(batch->simulated);
        recycled->simulated.clear();
        recycled->records.swap(batch->records);
        recycled->samples.swap(batch->samples);
        recycled->samples.clear();
        free_.push_back(std::move(recycled));
      });
}

Status RunDatabase::BeginRun(storage::RunInfo& run) {
  SubmitCurrent();
  PARTITA_RETURN_IF_ERROR(writer_->Flush());
  // Run ids are assigned in order: 1, 2, ... (the writer owns the connection).
  Status status;
  storage::RunInfo* target = &run;
  writer_->SubmitWait([target](storage::Database& db) { return storage::InsertRun(db, *target); },
                      [&status](const Status& s) { status = s; });
  PARTITA_RETURN_IF_ERROR(writer_->Flush());
  return status;
}

void RunDatabase::SetRenderer(std::shared_ptr<const RowRenderer> renderer) {
  if (current_->renderer != renderer) SubmitCurrent();
  current_->renderer = std::move(renderer);
}

void RunDatabase::AddRequest(const SimulatedRequest& request) {
  assert(current_->renderer != nullptr && "SetRenderer() before adding simulated rows");
  if (current_->record_count > 0) SubmitCurrent();
  current_->simulated.push_back(request);
  if (current_->rows() >= kBatchRows) SubmitCurrent();
}

void RunDatabase::AddRequestRecords(const storage::DecisionRecord& decision,
                                    const storage::OutcomeRecord& outcome) {
  if (!current_->simulated.empty()) SubmitCurrent();
  Batch& b = *current_;
  if (b.record_count == b.records.size()) b.records.emplace_back();
  b.records[b.record_count].first = decision;
  b.records[b.record_count].second = outcome;
  ++b.record_count;
  if (b.rows() >= kBatchRows) SubmitCurrent();
}

void RunDatabase::AddBatterySample(std::int64_t run_id, std::uint32_t device, std::int64_t t_ms,
                                   double battery_pct, bool charging) {
  assert(current_->renderer != nullptr && "SetRenderer() before adding battery samples");
  current_->samples.push_back({run_id, device, t_ms, battery_pct, charging});
  if (current_->rows() >= kBatchRows) SubmitCurrent();
}

void RunDatabase::AddMetric(std::int64_t run_id, std::string_view name, double value) {
  current_->metrics.push_back({run_id, std::string(name), value});
}

Status RunDatabase::Flush() {
  SubmitCurrent();
  PARTITA_RETURN_IF_ERROR(writer_->Flush());
  std::lock_guard<std::mutex> lock(free_mu_);
  return write_error_;
}

Status RunDatabase::Finish() {
  PARTITA_RETURN_IF_ERROR(Flush());
  Status status;
  writer_->SubmitWait(
      [](storage::Database& db) {
        return db.Exec(
            "CREATE UNIQUE INDEX IF NOT EXISTS requests_key ON requests(run_id, request_id, "
            "device_id); CREATE INDEX IF NOT EXISTS battery_run ON battery(run_id, t_ms)");
      },
      [&status](const Status& s) { status = s; });
  PARTITA_RETURN_IF_ERROR(writer_->Flush());
  PARTITA_RETURN_IF_ERROR(status);
  writer_->Stop();
  writer_.reset();  // closes the connection
  {
    Result<std::unique_ptr<storage::Database>> db = storage::Database::Open(partial_path_);
    if (!db.ok()) return db.status();
    PARTITA_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  }
  std::error_code ec;
  std::filesystem::remove(path_ + "-wal", ec);
  std::filesystem::remove(path_ + "-shm", ec);
  std::filesystem::rename(partial_path_, path_, ec);
  if (ec) return IoError("cannot move '" + partial_path_ + "' to '" + path_ + "': " + ec.message());
  finished_ = true;
  return Status::Ok();
}

Status ExportRequestsCsv(const std::string& database_path, const std::string& csv_path) {
  Result<std::unique_ptr<storage::Database>> db = storage::OpenForReading(database_path);
  if (!db.ok()) return db.status();
  Result<storage::Statement> s = (*db)->Prepare(
      "SELECT r.label, q.* FROM requests q JOIN runs r USING (run_id) ORDER BY q.run_id, "
      "q.rowid");
  if (!s.ok()) return s.status();
  std::ofstream out(csv_path, std::ios::binary);
  if (!out) return IoError("cannot write '" + csv_path + "'");
  const int columns = sqlite3_column_count(s->handle());
  for (int c = 0; c < columns; ++c) {
    out << (c ? "," : "") << (c == 0 ? "run_label" : sqlite3_column_name(s->handle(), c));
  }
  out << '\n';
  for (;;) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    for (int c = 0; c < columns; ++c) {
      if (c) out << ',';
      std::string_view v = s->Text(c);
      if (v.find_first_of(",\"\n") != std::string_view::npos) {
        out << '"';
        for (char ch : v) out << (ch == '"' ? "\"\"" : std::string(1, ch));
        out << '"';
      } else {
        out << v;
      }
    }
    out << '\n';
  }
  out.close();
  if (!out) return IoError("cannot write '" + csv_path + "'");
  return Status::Ok();
}

}  // namespace partita::sim
