// Hands completions from the decision log's writer thread to the I/O thread that owns the
// connection they answer, batched: one post per I/O thread per group commit, however many
// decisions it committed. Keeps the writer from waking an I/O thread once per row.
// Add() may be called from any thread; the functions run on their I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "net/asio.h"

namespace partita::router {

class CompletionQueue {
 public:
  explicit CompletionQueue(const std::vector<asio::io_context*>& contexts);

  // Runs `fn` soon on contexts[lane].
  void Add(std::size_t lane, std::function<void()> fn);
  // The lane of the I/O context behind `executor` (0 when not found).
  std::size_t LaneOf(const asio::any_io_executor& executor) const;

 private:
  struct Lane {
    asio::io_context* context = nullptr;
    std::mutex mu;
    std::vector<std::function<void()>> pending;  // guarded by mu
    bool posted = false;                         // guarded by mu: a drain is queued
  };
  void Drain(Lane& lane);

  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace partita::router
