#include "router/completions.h"

#include <boost/asio/post.hpp>

namespace partita::router {

CompletionQueue::CompletionQueue(const std::vector<asio::io_context*>& contexts) {
  for (asio::io_context* c : contexts) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_.back()->context = c;
  }
}

std::size_t CompletionQueue::LaneOf(const asio::any_io_executor& executor) const {
  const asio::execution_context* ctx = &asio::query(executor, asio::execution::context);
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    if (static_cast<asio::execution_context*>(lanes_[i]->context) == ctx) return i;
  }
  return 0;
}

void CompletionQueue::Add(std::size_t lane_index, std::function<void()> fn) {
  Lane& lane = *lanes_[lane_index < lanes_.size() ? lane_index : 0];
  bool post = false;
  {
    std::lock_guard<std::mutex> lock(lane.mu);
    lane.pending.push_back(std::move(fn));
    post = !lane.posted;
    lane.posted = true;
  }
  if (post) asio::post(*lane.context, [this, &lane] { Drain(lane); });
}

void CompletionQueue::Drain(Lane& lane) {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(lane.mu);
    batch.swap(lane.pending);
    lane.posted = false;
  }
  for (auto& fn : batch) fn();
}

}  // namespace partita::router
