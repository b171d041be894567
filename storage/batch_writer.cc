#include "storage/batch_writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <vector>

namespace partita::storage {

BatchWriter::BatchWriter(std::unique_ptr<Database> db, Options options)
    : db_(std::move(db)), options_(options) {
  StartCheckpointer();
  thread_ = std::thread([this] { Run(); });
}

BatchWriter::~BatchWriter() { Stop(); }

namespace {
// Syncs the database file (SQLITE_FCNTL_FILE_POINTER) or its WAL (SQLITE_FCNTL_JOURNAL_POINTER)
// through SQLite's own handle: only more durability than SQLite asks for. False on an error.
bool SyncFile(sqlite3* db, int which) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", which, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr) {
    return false;
  }
  return file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_OK;
}
}  // namespace

void BatchWriter::StartCheckpointer() {
  const std::string& path = db_->path();
  if (options_.background_checkpoint_frames <= 0 || path.empty() || path == ":memory:") return;
  Result<std::unique_ptr<Database>> second = Database::Open(path);
  if (!second.ok()) return;  // SQLite's own checkpoints stay on
  checkpoint_db_ = std::move(*second);
  sqlite3_wal_hook(db_->handle(), &BatchWriter::OnWalCommit, this);  // replaces autocheckpoint
  checkpoint_thread_ = std::thread([this] { RunCheckpointer(); });
}

int BatchWriter::OnWalCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  auto* writer = static_cast<BatchWriter*>(self);
  const Options& o = writer->options_;
  if (frames < writer->wal_frames_ && writer->restart_floor_ > 0) {
    // SQLite restarted the WAL itself (a checkpoint reached its end while no reader was in it):
    // a floor raised by a failed restart would otherwise hold the next one off for that long.
    std::lock_guard<std::mutex> lock(writer->checkpoint_mu_);
    writer->restart_floor_ = 0;
  }
  writer->wal_frames_ = frames;
  int& requested_at = writer->frames_at_checkpoint_request_;
  if (frames < requested_at) requested_at = 0;  // the WAL restarted
  if (frames >= o.inline_checkpoint_frames) {
    writer->inline_checkpoint_due_ = true;  // Run() does it once the batch is answered
  } else if (frames >= requested_at + o.background_checkpoint_frames) {
    requested_at = frames;
    {
      std::lock_guard<std::mutex> lock(writer->checkpoint_mu_);
      writer->checkpoint_wanted_ = true;
    }
    writer->checkpoint_wake_.notify_one();
  }
  return SQLITE_OK;
}

void BatchWriter::RunCheckpointer() {
  for (;;) {
    int restart_at = 0;
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      // While a restart is pending the writer may want the checkpoint lock: no new pass.
      checkpoint_wake_.wait(lock, [&] {
        return checkpoint_stopping_ || (checkpoint_wanted_ && !restart_ready_.load());
      });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
      restart_at = std::max(options_.restart_frames, restart_floor_);
    }
    // PASSIVE never blocks the writer; SQLITE_BUSY (a checkpoint already running) skips a pass.
    int wal_frames = 0;
    if (sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                  &wal_frames, nullptr) != SQLITE_OK) {
      continue;
    }
    background_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    if (options_.on_background_checkpoint) options_.on_background_checkpoint();
    if (options_.restart_frames <= 0 || wal_frames < restart_at) continue;
    // A partial checkpoint syncs the WAL but not the database; the complete one in a restart
    // syncs both. Syncing here, off the writer's path, leaves the restart only what was written
    // since this pass: the writer restarts the WAL between two transactions.
    if (!SyncFile(checkpoint_db_->handle(), SQLITE_FCNTL_FILE_POINTER) ||
        !SyncFile(checkpoint_db_->handle(), SQLITE_FCNTL_JOURNAL_POINTER)) {
      continue;  // SQLite's own checkpoint syncs again, and reports the error to the writer
    }
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    restart_ready_.store(true);
  }
}

bool BatchWriter::RestartWal() {
  // No busy wait: a reader in the WAL makes this fail at once, and the next try waits until
  // the WAL has grown by another restart_frames.
  sqlite3_busy_timeout(db_->handle(), 0);
  const bool restarted =
      sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_RESTART, nullptr,
                                nullptr) == SQLITE_OK;
  sqlite3_busy_timeout(db_->handle(), db_->busy_timeout_ms());
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    restart_ready_.store(false);
    restart_floor_ = restarted ? 0 : wal_frames_ + options_.restart_frames;
  }
  checkpoint_wake_.notify_one();
  return restarted;
}

bool BatchWriter::Submit(Job job, Done done) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) return false;
    queue_.push_back({std::move(job), std::move(done)});
    ++submitted_;
    wake = writer_waiting_;  // a busy writer takes the queue when it finishes its batch
  }
  if (wake) wake_.notify_one();
  return true;
}

bool BatchWriter::SubmitWait(Job job, Done done) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return stopping_ || queue_.size() < options_.max_queue; });
    if (stopping_) return false;
    queue_.push_back({std::move(job), std::move(done)});
    ++submitted_;
  }
  wake_.notify_one();
  return true;
}

Status BatchWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t target = submitted_;
  drained_.wait(lock, [&] { return completed_ >= target || finished_; });
  return last_commit_status_;
}

void BatchWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  space_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  if (checkpoint_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      checkpoint_stopping_ = true;
    }
    checkpoint_wake_.notify_one();
    checkpoint_thread_.join();
  }
}

BatchWriter::Stats BatchWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  s.background_checkpoints = background_checkpoints_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> checkpoint_lock(checkpoint_mu_);
  s.restart_at_frames = options_.restart_frames > 0 && checkpoint_db_ != nullptr
                            ? std::max(options_.restart_frames, restart_floor_)
                            : 0;
  return s;
}

void BatchWriter::Run() {
  std::vector<Item> batch;
  std::vector<Status> results;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      writer_waiting_ = true;
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      writer_waiting_ = false;
      if (queue_.empty() && stopping_) break;
      const std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    space_.notify_all();
    results.assign(batch.size(), Status::Ok());
    Status commit = db_->Begin();
    if (commit.ok()) {
      for (std::size_t i = 0; i < batch.size(); ++i) results[i] = batch[i].job(*db_);
      commit = db_->Commit();
      if (!commit.ok()) (void)db_->Rollback();
    }
    std::uint64_t failed = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Status& s = commit.ok() ? results[i] : commit;
      if (!s.ok()) ++failed;
      if (batch[i].done) batch[i].done(s);
    }
    bool checkpointed = false;
    bool restarted = false;
    bool restart_failed = false;
    if (restart_ready_.load(std::memory_order_acquire)) {
      restarted = RestartWal();
      restart_failed = !restarted;
      if (restarted) inline_checkpoint_due_ = false;
    }
    if (inline_checkpoint_due_) {
      // Between transactions, after this batch's completions: nothing appends while it copies,
      // so it reaches the WAL's end and the next transaction restarts the WAL.
      inline_checkpoint_due_ = false;
      checkpointed = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               nullptr, nullptr) == SQLITE_OK;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.jobs += batch.size();
      stats_.failed_jobs += failed;
      ++(commit.ok() ? stats_.commits : stats_.failed_commits);
      if (checkpointed) ++stats_.inline_checkpoints;
      if (restarted) ++stats_.wal_restarts;
      if (restart_failed) ++stats_.failed_wal_restarts;
      stats_.wal_frames = wal_frames_;
      last_commit_status_ = commit;
      completed_ += batch.size();
    }
    drained_.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
  }
  drained_.notify_all();
}

}  // namespace partita::storage
