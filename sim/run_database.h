// The run database a simulation writes: the request-log schema (storage/request_log.h) in a
// SQLite file, filled by a writer thread while the simulation thread runs.
//
// Simulated requests are rendered into rows on the writer thread, not the simulation's.
// The file is built under RUN.db.partial with journaling off (a bulk load: fastest, and a crash
// leaves no half-written RUN.db), then indexed, switched to WAL mode and renamed into place by
// Finish(). Rows keep the order they were added, so equal inputs give equal files.
// AddXxx() are called from one simulation thread at a time; Finish() once at the end.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/row_sink.h"
#include "storage/batch_writer.h"

namespace partita::sim {

class RunDatabase : public RowSink {
 public:
  // Creates (replacing any file at `path`) and prepares the schema.
  static Result<std::unique_ptr<RunDatabase>> Create(const std::string& path);
  ~RunDatabase() override;

  Status BeginRun(storage::RunInfo& run) override;
  void SetRenderer(std::shared_ptr<const RowRenderer> renderer) override;
  void AddRequest(const SimulatedRequest& request) override;
  void AddBatterySample(std::int64_t run_id, std::uint32_t device, std::int64_t t_ms,
                        double battery_pct, bool charging) override;
  void AddMetric(std::int64_t run_id, std::string_view name, double value) override;
  // A request already in request-log form (replay).
  void AddRequestRecords(const storage::DecisionRecord& decision,
                         const storage::OutcomeRecord& outcome);
  Status Flush() override;

  // Writes the last rows, builds indexes, switches to WAL and moves the file into place.
  Status Finish();

 private:
  // Rows for one transaction. Simulated requests and battery samples are rendered by the
  // writer with `renderer`; a batch holds either simulated requests or records, never both, so
  // rows keep the order they were added.
  struct Batch {
    std::shared_ptr<const RowRenderer> renderer;
    std::vector<SimulatedRequest> simulated;
    std::vector<std::pair<storage::DecisionRecord, storage::OutcomeRecord>> records;
    std::size_t record_count = 0;
    struct Sample {
      std::int64_t run_id;
      std::uint32_t device;
      std::int64_t t_ms;
      double pct;
      bool charging;
    };
    std::vector<Sample> samples;
    struct Metric {
      std::int64_t run_id;
      std::string name;
      double value;
    };
    std::vector<Metric> metrics;
    std::size_t rows() const { return simulated.size() + record_count + samples.size(); }
  };

  RunDatabase(std::string path, std::string partial_path,
              std::unique_ptr<storage::BatchWriter> writer);
  void SubmitCurrent();
  std::unique_ptr<Batch> TakeFreeBatch();

  std::string path_;
  std::string partial_path_;
  std::unique_ptr<storage::BatchWriter> writer_;
  std::unique_ptr<Batch> current_;
  std::mutex free_mu_;
  std::vector<std::unique_ptr<Batch>> free_;  // guarded by free_mu_
  Status write_error_;                        // first failure seen by the writer; free_mu_
  bool finished_ = false;
};

// Writes the requests table (every run) as CSV with a header row.
Status ExportRequestsCsv(const std::string& database_path, const std::string& csv_path);

}  // namespace partita::sim
