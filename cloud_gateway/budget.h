// Per-device and fleet spending limits in USD per UTC day, checked before a request starts and
// charged as tokens pass.
//
// Money is counted in pico-USD (1e-12 USD) in 64-bit atomics, so charging a token is one
// fetch_add per account and budgets up to $9 million per day are exact. An account's day is
// the UTC day number; the first charge or check on a new day resets it. Accounts are created
// on first use and never move (callers may keep the pointer for the life of the book).
// Thread-safe: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cloud_gateway/config.h"

namespace partita::cloud_gateway {

using PicoUsd = std::int64_t;
inline constexpr double kPicoPerUsd = 1e12;

inline PicoUsd ToPico(double usd) { return static_cast<PicoUsd>(usd * kPicoPerUsd + 0.5); }
inline double ToUsd(PicoUsd pico) { return static_cast<double>(pico) / kPicoPerUsd; }

// Pico-USD per token for a price in USD per million tokens.
inline PicoUsd PicoPerToken(double usd_per_1m_tokens) { return ToPico(usd_per_1m_tokens / 1e6); }

enum class BudgetVerdict { kOk, kDeviceExhausted, kFleetExhausted };

// The UTC day number (days since 1970-01-01) now; tests pass their own days.
std::int32_t UtcDayNow();
// The UTC day (days since 1970-01-01) of a time in milliseconds since the epoch.
constexpr std::int32_t UtcDay(std::int64_t unix_ms) {
  return static_cast<std::int32_t>(unix_ms / (24 * 3600 * 1000));
}

class BudgetBook {
 public:
  struct Account {
    std::string device;
    PicoUsd limit = 0;  // 0: unlimited
    std::atomic<std::int32_t> day{0};
    std::atomic<PicoUsd> spent{0};
  };

  explicit BudgetBook(const BudgetConfig& config);

  // The account of a device, created on first use.
  Account* Find(std::string_view device);

  // Before a request: whether the device and the fleet may spend `estimate` more today (a budget
  // that is exactly spent admits nothing). Does not charge.
  BudgetVerdict Admit(Account& account, PicoUsd estimate, std::int32_t day = UtcDayNow());
  // Adds `amount` (may be negative, to reconcile) to the device and the fleet; returns whether
  // both are still within their limits afterwards.
  BudgetVerdict Charge(Account& account, PicoUsd amount, std::int32_t day = UtcDayNow());

  // Reserves, in one atomic step on the device and the fleet, `minimum` plus as many `step`s as
  // fit, up to `maximum` in all, from what both have left today; returns the amount reserved,
  // or the exhausted budget's verdict when not even `minimum` fits. Requests in flight together
  // therefore never reserve the same remainder twice. Unlimited budgets reserve `maximum`.
  struct Reservation {
    BudgetVerdict verdict = BudgetVerdict::kOk;
    PicoUsd amount = 0;
  };
  Reservation Reserve(Account& account, PicoUsd minimum, PicoUsd step, PicoUsd maximum,
                      std::int32_t day = UtcDayNow());

  // What the device may still spend today: the smaller of its own and the fleet's budget left
  // (never negative); -1 when neither is limited.
  PicoUsd Left(Account& account, std::int32_t day = UtcDayNow());

  PicoUsd fleet_limit() const { return fleet_limit_; }
  PicoUsd FleetSpent(std::int32_t day = UtcDayNow());
  // Fleet budget left today; -1 when unlimited.
  double FleetLeftUsd(std::int32_t day = UtcDayNow());
  PicoUsd DeviceSpent(std::string_view device, std::int32_t day = UtcDayNow());

  // Restores today's spending at start-up (from the ledger).
  void Restore(const std::vector<std::pair<std::string, double>>& spent_usd, std::int32_t day);

 private:
  // Resets a counter whose day is stale; returns the counter.
  static std::atomic<PicoUsd>& Current(std::atomic<std::int32_t>& day_of,
                                       std::atomic<PicoUsd>& spent, std::int32_t day);

  BudgetConfig config_;
  PicoUsd fleet_limit_ = 0;
  std::atomic<std::int32_t> fleet_day_{0};
  std::atomic<PicoUsd> fleet_spent_{0};
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Account>> accounts_;  // guarded by mu_
};

const char* BudgetScopeName(BudgetVerdict verdict);  // "device", "fleet" or "none"

}  // namespace partita::cloud_gateway
