// Where a simulation's rows go: the run database (SQLite, rendered and written on its own
// thread), or nothing (benchmarks). The simulator produces rows in a deterministic order and a
// sink must keep it, so the same inputs give the same database. Requests arrive as
// SimulatedRequests (numbers and indexes); the sink renders them with the RowRenderer it was
// given, off the simulation thread if it likes.
// A sink is used by one simulation thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sim/row_renderer.h"
#include "sim/simulated_request.h"
#include "storage/request_log.h"

namespace partita::sim {

class RowSink {
 public:
  virtual ~RowSink() = default;
  // Records the run and sets run.run_id.
  virtual Status BeginRun(storage::RunInfo& run) = 0;
  // Names for the rows that follow, until the next call.
  virtual void SetRenderer(std::shared_ptr<const RowRenderer> renderer) = 0;
  virtual void AddRequest(const SimulatedRequest& request) = 0;
  virtual void AddBatterySample(std::int64_t run_id, std::uint32_t device, std::int64_t t_ms,
                                double battery_pct, bool charging) = 0;
  virtual void AddMetric(std::int64_t run_id, std::string_view name, double value) = 0;
  // Waits until everything added so far is stored.
  virtual Status Flush() = 0;
};

// Discards rows without rendering them (for measuring the simulation itself).
class NullSink : public RowSink {
 public:
  Status BeginRun(storage::RunInfo& run) override {
    run.run_id = ++runs_;
    return Status::Ok();
  }
  void SetRenderer(std::shared_ptr<const RowRenderer>) override {}
  void AddRequest(const SimulatedRequest&) override {}
  void AddBatterySample(std::int64_t, std::uint32_t, std::int64_t, double, bool) override {}
  void AddMetric(std::int64_t, std::string_view, double) override {}
  Status Flush() override { return Status::Ok(); }

 private:
  std::int64_t runs_ = 0;
};

}  // namespace partita::sim
