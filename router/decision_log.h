// The router's decision log: the request-log schema (docs/request-log.md) in SQLite, written by
// a dedicated thread in group commits.
//
// Durability contract: the router sends a Decision only after its row is committed, and an Ack
// for an Outcome only after its row is committed, so an agent never holds an acknowledgement
// for something the log lost. With synchronous=NORMAL (the default) a committed row survives a
// crash of the router process; `durable_fsync: true` (synchronous=FULL) also survives power
// loss, at the cost of an fsync per group commit. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/batch_writer.h"
#include "storage/request_log.h"

namespace partita::router {

class DecisionLog {
 public:
  using Committed = std::function<void(const Status&)>;

  // Opens (creating if needed) the log at `path` and starts a run for this router process.
  static Result<std::unique_ptr<DecisionLog>> Open(const std::string& path, bool durable_fsync,
                                                   storage::RunInfo run);
  ~DecisionLog();

  std::int64_t run_id() const { return run_id_; }

  // Queues a row; `committed` runs on the writer thread after its transaction. False when the
  // writer's queue is full (the caller sheds load) or the log is stopped.
  bool LogDecision(std::shared_ptr<storage::DecisionRecord> row, Committed committed);
  // The decision facts carried by the Outcome stand in when no decision row exists (offline
  // decisions, or a decision logged by a previous router run).
  bool LogOutcome(std::shared_ptr<storage::OutcomeRecord> outcome,
                  std::shared_ptr<storage::DecisionRecord> decision_facts, Committed committed);

  Status Flush();
  void Stop();
  storage::BatchWriter::Stats stats() const { return writer_->stats(); }

 private:
  DecisionLog(std::unique_ptr<storage::BatchWriter> writer, std::int64_t run_id)
      : writer_(std::move(writer)), run_id_(run_id) {}
  std::unique_ptr<storage::BatchWriter> writer_;
  std::int64_t run_id_;
};

}  // namespace partita::router
