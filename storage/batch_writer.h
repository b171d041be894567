// Runs SQLite writes on a dedicated thread, grouped into transactions (group commit).
//
// Event-loop threads never block on SQLite: they Submit() a job and get its completion through
// a callback, which runs on the writer thread after the job's transaction committed (post it
// back to your io_context). Jobs queued while a transaction commits form the next transaction,
// so batches grow with load and latency stays low when idle. A job that fails does not fail the
// others in its batch; a failed commit fails them all.
// WAL checkpoints (which fsync) run on a second connection in a background thread, every
// `background_checkpoint_frames` of WAL growth, so no commit copies pages into the database.
// Once the WAL reaches `restart_frames`, the writer restarts it between two transactions after
// such a pass (about a millisecond; the commit after it also syncs the new WAL header). The
// writer checkpoints inline only when the WAL outgrows a hard bound. A reader holding a
// snapshot in the WAL stops both (SQLite cannot copy past it) until it ends.
// Thread-safe: Submit/Flush/Stop may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "storage/sqlite.h"

namespace partita::storage {

class BatchWriter {
 public:
  using Job = std::function<Status(Database&)>;
  using Done = std::function<void(const Status&)>;

  struct Options {
    std::size_t max_batch = 8192;     // jobs per transaction at most
    std::size_t max_queue = 1 << 20;  // Submit() refuses beyond this (the caller sheds load)
    // WAL growth (frames, i.e. pages) between background checkpoints; 0 leaves checkpoints to
    // SQLite, inside the commit that crosses 1000 frames.
    int background_checkpoint_frames = 1000;
    // WAL size at which the WAL is restarted: after a background pass, the writer copies what
    // was written since and syncs, between two transactions (about a millisecond). Under
    // sustained load a passive checkpoint never catches the WAL's end, so without this the WAL
    // would grow to the hard bound below. After a failed try (a reader in the WAL) the next
    // waits for another restart_frames of growth. 0 = never.
    int restart_frames = 8192;
    // WAL size beyond which the writer checkpoints inline between transactions, should the
    // restarts fail.
    int inline_checkpoint_frames = 32768;
    // Runs on the checkpoint thread after each background checkpoint (metrics, tests).
    std::function<void()> on_background_checkpoint;
  };

  struct Stats {
    std::uint64_t jobs = 0;
    std::uint64_t failed_jobs = 0;
    std::uint64_t commits = 0;
    std::uint64_t failed_commits = 0;
    std::uint64_t background_checkpoints = 0;
    std::uint64_t inline_checkpoints = 0;
    std::uint64_t wal_restarts = 0;
    std::uint64_t failed_wal_restarts = 0;  // a reader was in the WAL
    std::size_t queued = 0;
    int wal_frames = 0;  // the WAL's size after the last commit, in frames
    // The WAL size at which the next restart is tried: restart_frames, or another
    // restart_frames past the size at a failed try, until the WAL starts over. 0 when this
    // writer never restarts the WAL (no checkpoint thread, or restart_frames 0).
    int restart_at_frames = 0;
  };

  BatchWriter(std::unique_ptr<Database> db, Options options);
  explicit BatchWriter(std::unique_ptr<Database> db) : BatchWriter(std::move(db), Options{}) {}
  ~BatchWriter();  // Stop()
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Queues a job; `done` runs on the writer thread after its transaction. False (and `done` is
  // not called) when the queue is full or the writer is stopped.
  bool Submit(Job job, Done done = {});
  // Like Submit, but waits for room in the queue instead of refusing (producers that must not
  // drop work, such as the simulator). False only when the writer is stopped.
  bool SubmitWait(Job job, Done done = {});
  // Blocks until every job submitted before the call has been committed (or failed).
  Status Flush();
  // Commits what is queued and stops the thread. Further Submit() calls return false.
  void Stop();

  Stats stats() const;

 private:
  struct Item {
    Job job;
    Done done;
  };
  void Run();
  void RunCheckpointer();
  bool RestartWal();  // writer thread, between transactions
  void StartCheckpointer();
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int frames);

  std::unique_ptr<Database> db_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::condition_variable space_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool finished_ = false;        // the writer thread has exited
  bool writer_waiting_ = false;  // the writer sleeps on wake_ (only then does Submit notify)
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_ = 0;
  Status last_commit_status_;
  Stats stats_;
  std::thread thread_;

  // Background checkpoints: the writer's WAL hook asks, this thread (with its own connection)
  // checkpoints. `checkpoint_mu_` guards checkpoint_wanted_, checkpoint_stopping_,
  // restart_floor_ and the writes of restart_ready_.
  std::unique_ptr<Database> checkpoint_db_;
  bool inline_checkpoint_due_ = false;    // set by the WAL hook, writer thread only
  int frames_at_checkpoint_request_ = 0;  // WAL size at the last background request (writer)
  int wal_frames_ = 0;                    // WAL size after the last commit (writer)
  mutable std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_wake_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_stopping_ = false;
  std::atomic<std::uint64_t> background_checkpoints_{0};
  // A pass for a restart is done and synced; the writer clears it. Written under
  // checkpoint_mu_ (the checkpointer waits on it), read by the writer without.
  std::atomic<bool> restart_ready_{false};
  // After a failed restart, the WAL size for the next try; 0 once the WAL starts over. Written
  // by the writer thread under checkpoint_mu_; read unlocked only by the writer thread.
  int restart_floor_ = 0;
  std::thread checkpoint_thread_;
};

}  // namespace partita::storage
