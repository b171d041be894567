#include "cloud_gateway/rate_limit.h"

#include <algorithm>

namespace partita::cloud_gateway {

RateLimiter::Buckets* RateLimiter::Find(std::string_view device) {
  {
    std::shared_lock lock(mu_);
    auto it = buckets_.find(std::string(device));
    if (it != buckets_.end()) return it->second.get();
  }
  RateLimit limit = config_.device;
  if (auto o = config_.devices.find(device); o != config_.devices.end()) limit = o->second;
  std::unique_lock lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(std::string(device));
  if (inserted) {
    auto b = std::make_unique<Buckets>();
    b->limit = limit;
    b->requests = limit.requests_per_minute;
    b->tokens = limit.tokens_per_minute;
    b->refilled = Clock::now();
    it->second = std::move(b);
  }
  return it->second->limit.any() ? it->second.get() : nullptr;
}

void RateLimiter::Refill(Buckets& b, Clock::time_point now) {
  const double minutes = std::chrono::duration<double>(now - b.refilled).count() / 60.0;
  if (minutes <= 0) return;
  b.refilled = now;
  b.requests =
      std::min(b.limit.requests_per_minute, b.requests + minutes * b.limit.requests_per_minute);
  b.tokens = std::min(b.limit.tokens_per_minute, b.tokens + minutes * b.limit.tokens_per_minute);
}

RateLimiter::Admission RateLimiter::Take(Buckets& b, double tokens, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(b.mu);
  Refill(b, now);
  const RateLimit& l = b.limit;
  if (l.requests_per_minute > 0 && b.requests < 1) {
    return {Verdict::kRequests, (1 - b.requests) / l.requests_per_minute * 60.0};
  }
  // A request larger than a whole minute's allowance is let through when the bucket is full,
  // rather than never: it then leaves the bucket in debt.
  if (l.tokens_per_minute > 0 && b.tokens < std::min(tokens, l.tokens_per_minute)) {
    return {Verdict::kTokens,
            (std::min(tokens, l.tokens_per_minute) - b.tokens) / l.tokens_per_minute * 60.0};
  }
  if (l.requests_per_minute > 0) b.requests -= 1;
  if (l.tokens_per_minute > 0) b.tokens -= tokens;
  return {};
}

void RateLimiter::GiveBack(Buckets& b, double tokens) {
  if (tokens <= 0 || b.limit.tokens_per_minute <= 0) return;
  std::lock_guard<std::mutex> lock(b.mu);
  b.tokens = std::min(b.limit.tokens_per_minute, b.tokens + tokens);
}

}  // namespace partita::cloud_gateway
