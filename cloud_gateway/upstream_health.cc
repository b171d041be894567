#include "cloud_gateway/upstream_health.h"

#include <algorithm>
#include <cmath>

namespace partita::cloud_gateway {

SteadyNanos SteadyNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

UpstreamHealth::UpstreamHealth(int eject_after, std::chrono::milliseconds eject,
                               std::chrono::milliseconds max_eject)
    : eject_after_(eject_after),
      eject_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(eject).count()),
      max_eject_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(max_eject).count()) {}

bool UpstreamHealth::Available(SteadyNanos now) const {
  return now >= ejected_until_.load(std::memory_order_relaxed);
}

SteadyNanos UpstreamHealth::EjectedFor(SteadyNanos now) const {
  return std::max<SteadyNanos>(0, ejected_until_.load(std::memory_order_relaxed) - now);
}

void UpstreamHealth::RecordSuccess(SteadyNanos now) {
  if (consecutive_.load(std::memory_order_relaxed) != 0) {
    consecutive_.store(0, std::memory_order_relaxed);
  }
  const SteadyNanos until = ejected_until_.load(std::memory_order_relaxed);
  if (streak_.load(std::memory_order_relaxed) != 0 && until != 0 && now >= until + eject_ns_) {
    streak_.store(0, std::memory_order_relaxed);
  }
}

bool UpstreamHealth::RecordFailure(SteadyNanos now) {
  const int n = consecutive_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n < eject_after_ || !Available(now)) return false;
  // Exactly one of the racing failures that reach the threshold ejects.
  int expected = n;
  if (!consecutive_.compare_exchange_strong(expected, 0, std::memory_order_relaxed)) return false;
  const int streak = streak_.fetch_add(1, std::memory_order_relaxed);
  const double factor = std::ldexp(1.0, std::min(streak, 30));
  const SteadyNanos duration =
      std::min<SteadyNanos>(max_eject_ns_, static_cast<SteadyNanos>(eject_ns_ * factor));
  ejected_until_.store(now + duration, std::memory_order_relaxed);
  ejections_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool RetryBudget::TryStartRetry() {
  const double limit =
      std::max<double>(min_, ratio_ * static_cast<double>(active_.load(std::memory_order_relaxed)));
  std::int64_t current = retries_.load(std::memory_order_relaxed);
  while (static_cast<double>(current) < limit) {
    if (retries_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace partita::cloud_gateway
