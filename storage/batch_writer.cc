#include "storage/batch_writer.h"

#include <sqlite3.h>

#include <vector>

namespace partita::storage {

BatchWriter::BatchWriter(std::unique_ptr<Database> db, Options options)
    : db_(std::move(db)), options_(options) {
  StartCheckpointer();
  thread_ = std::thread([this] { Run(); });
}

BatchWriter::~BatchWriter() { Stop(); }

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
  if (frames >= writer->options_.inline_checkpoint_frames) {
    writer->inline_checkpoint_due_ = true;  // Run() does it once the batch is answered
  } else if (frames >= writer->options_.background_checkpoint_frames) {
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
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_wake_.wait(lock, [&] { return checkpoint_wanted_ || checkpoint_stopping_; });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE never blocks the writer; SQLITE_BUSY (another checkpoint running) is harmless.
    if (sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                  nullptr, nullptr) == SQLITE_OK) {
      background_checkpoints_.fetch_add(1, std::memory_order_relaxed);
      if (options_.on_background_checkpoint) options_.on_background_checkpoint();
    }
  }
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
