// Where a simulation's rows go: the run database (SQLite, written on its own thread), or
// nothing (benchmarks). The simulator produces rows in a deterministic order and a sink must
// keep it, so the same inputs give the same database.
// A sink is used by one simulation thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/request_log.h"

namespace partita::sim {

class RowSink {
 public:
  virtual ~RowSink() = default;
  // Records the run and sets run.run_id.
  virtual Status BeginRun(storage::RunInfo& run) = 0;
  virtual void AddRequest(const storage::DecisionRecord& decision,
                          const storage::OutcomeRecord& outcome) = 0;
  virtual void AddBatterySample(std::int64_t run_id, const std::string& device_id,
                                std::int64_t t_ms, double battery_pct, bool charging) = 0;
  virtual void AddMetric(std::int64_t run_id, std::string_view name, double value) = 0;
  // Waits until everything added so far is stored.
  virtual Status Flush() = 0;
};

// Discards rows (for measuring the simulation itself).
class NullSink : public RowSink {
 public:
  Status BeginRun(storage::RunInfo& run) override {
    run.run_id = ++runs_;
    return Status::Ok();
  }
  void AddRequest(const storage::DecisionRecord&, const storage::OutcomeRecord&) override {
    ++requests_;
  }
  void AddBatterySample(std::int64_t, const std::string&, std::int64_t, double, bool) override {}
  void AddMetric(std::int64_t, std::string_view, double) override {}
  Status Flush() override { return Status::Ok(); }
  std::uint64_t requests() const { return requests_; }

 private:
  std::int64_t runs_ = 0;
  std::uint64_t requests_ = 0;
};

}  // namespace partita::sim
