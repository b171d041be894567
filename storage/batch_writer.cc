#include "storage/batch_writer.h"

#include <vector>

namespace partita::storage {

BatchWriter::BatchWriter(std::unique_ptr<Database> db, Options options)
    : db_(std::move(db)), options_(options), thread_([this] { Run(); }) {}

BatchWriter::~BatchWriter() { Stop(); }

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
}

BatchWriter::Stats BatchWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
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
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.jobs += batch.size();
      stats_.failed_jobs += failed;
      ++(commit.ok() ? stats_.commits : stats_.failed_commits);
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
