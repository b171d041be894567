// Passive health of upstreams and the retry budget.
//
// UpstreamHealth: an upstream that fails `eject_after` requests in a row is ejected (not
// chosen) for `eject` time, doubling with each ejection in a streak up to `max_eject`; the
// streak ends when the upstream succeeds after staying back for a full `eject` period.
// Failures are what the gateway cannot blame on the device: refused connections, 5xx, no first
// token, stalls, disconnects and malformed responses.
//
// RetryBudget: a retry (a further attempt on another upstream, only ever before the first
// token) is allowed while concurrent retries stay under max(min_concurrent, ratio x active
// requests), so an outage cannot multiply the load on the upstreams that are left.
// Thread-safe (atomics); times are steady-clock nanoseconds so tests can pass their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace partita::cloud_gateway {

using SteadyNanos = std::int64_t;
SteadyNanos SteadyNow();

class UpstreamHealth {
 public:
  UpstreamHealth(int eject_after, std::chrono::milliseconds eject,
                 std::chrono::milliseconds max_eject);

  bool Available(SteadyNanos now) const;
  void RecordSuccess(SteadyNanos now);
  // Returns true when this failure ejected the upstream.
  bool RecordFailure(SteadyNanos now);

  int consecutive_failures() const { return consecutive_.load(std::memory_order_relaxed); }
  std::uint64_t ejections() const { return ejections_.load(std::memory_order_relaxed); }
  // Nanoseconds left in the current ejection (0 when available).
  SteadyNanos EjectedFor(SteadyNanos now) const;

 private:
  const int eject_after_;
  const SteadyNanos eject_ns_;
  const SteadyNanos max_eject_ns_;
  std::atomic<int> consecutive_{0};
  std::atomic<SteadyNanos> ejected_until_{0};
  std::atomic<int> streak_{0};
  std::atomic<std::uint64_t> ejections_{0};
};

class RetryBudget {
 public:
  RetryBudget(double ratio, int min_concurrent) : ratio_(ratio), min_(min_concurrent) {}

  void RequestStarted() { active_.fetch_add(1, std::memory_order_relaxed); }
  void RequestFinished() { active_.fetch_sub(1, std::memory_order_relaxed); }
  // Takes a retry slot if the budget allows one; release it with RetryFinished().
  bool TryStartRetry();
  void RetryFinished() { retries_.fetch_sub(1, std::memory_order_relaxed); }

  std::int64_t active_requests() const { return active_.load(std::memory_order_relaxed); }
  std::int64_t active_retries() const { return retries_.load(std::memory_order_relaxed); }

 private:
  const double ratio_;
  const int min_;
  std::atomic<std::int64_t> active_{0};
  std::atomic<std::int64_t> retries_{0};
};

}  // namespace partita::cloud_gateway
