// Per-device rate limits at the gateway: requests per minute and tokens per minute, each a token
// bucket that holds a minute's allowance and refills continuously. A request takes one request
// and its token estimate (prompt plus the answer's max_tokens) when it is admitted; what it did
// not use is given back when it ends. Over either limit the device gets 429 with Retry-After:
// the seconds until enough has refilled.
// Thread-safe: every member may be called from any thread (a mutex per device's buckets).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace partita::cloud_gateway {

struct RateLimit {
  double requests_per_minute = 0;  // 0: unlimited
  double tokens_per_minute = 0;    // 0: unlimited
  bool any() const { return requests_per_minute > 0 || tokens_per_minute > 0; }
};

struct RateLimitConfig {
  RateLimit device;                                       // every device's, unless overridden
  std::map<std::string, RateLimit, std::less<>> devices;  // per-device overrides
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { kOk, kRequests, kTokens };

  struct Buckets {
    RateLimit limit;
    std::mutex mu;
    double requests = 0;  // guarded by mu: available now
    double tokens = 0;    // guarded by mu
    Clock::time_point refilled{};
  };

  explicit RateLimiter(RateLimitConfig config) : config_(std::move(config)) {}

  // The buckets of a device (created on first use, full); nullptr when it has no limit.
  Buckets* Find(std::string_view device);

  struct Admission {
    Verdict verdict = Verdict::kOk;
    double retry_after_s = 0;  // when refused: until enough has refilled
  };
  // Takes one request and `tokens` tokens, or neither.
  static Admission Take(Buckets& b, double tokens, Clock::time_point now = Clock::now());
  // Gives back tokens taken but not used (the answer was shorter than its max_tokens).
  static void GiveBack(Buckets& b, double tokens);

 private:
  static void Refill(Buckets& b, Clock::time_point now);

  RateLimitConfig config_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Buckets>> buckets_;  // guarded by mu_
};

}  // namespace partita::cloud_gateway
