#include "cloud_gateway/budget.h"

#include <algorithm>
#include <chrono>
#include <mutex>

namespace partita::cloud_gateway {

std::int32_t UtcDayNow() {
  return UtcDay(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count());
}

const char* BudgetScopeName(BudgetVerdict verdict) {
  switch (verdict) {
    case BudgetVerdict::kDeviceExhausted: return "device";
    case BudgetVerdict::kFleetExhausted: return "fleet";
    case BudgetVerdict::kOk: return "none";
  }
  return "none";
}

BudgetBook::BudgetBook(const BudgetConfig& config)
    : config_(config), fleet_limit_(ToPico(config.fleet_usd_per_day)) {}

BudgetBook::Account* BudgetBook::Find(std::string_view device) {
  {
    std::shared_lock lock(mu_);
    // Heterogeneous lookup needs C++20 transparent hashing; a short key copy is cheap here.
    auto it = accounts_.find(std::string(device));
    if (it != accounts_.end()) return it->second.get();
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = accounts_.try_emplace(std::string(device));
  if (inserted) {
    auto account = std::make_unique<Account>();
    account->device = std::string(device);
    auto override_it = config_.devices.find(device);
    account->limit = ToPico(override_it != config_.devices.end() ? override_it->second
                                                                 : config_.device_usd_per_day);
    it->second = std::move(account);
  }
  return it->second.get();
}

std::atomic<PicoUsd>& BudgetBook::Current(std::atomic<std::int32_t>& day_of,
                                          std::atomic<PicoUsd>& spent, std::int32_t day) {
  std::int32_t seen = day_of.load(std::memory_order_acquire);
  if (seen != day) {
    // First touch on a new day resets the counter; a racing charge from the old day may land
    // on either side, which is within one request's cost.
    if (day > seen && day_of.compare_exchange_strong(seen, day)) {
      spent.store(0, std::memory_order_release);
    }
  }
  return spent;
}

BudgetVerdict BudgetBook::Admit(Account& account, PicoUsd estimate, std::int32_t day) {
  const PicoUsd device = Current(account.day, account.spent, day).load(std::memory_order_relaxed);
  if (account.limit > 0 && (device >= account.limit || device + estimate > account.limit)) {
    return BudgetVerdict::kDeviceExhausted;
  }
  const PicoUsd fleet = Current(fleet_day_, fleet_spent_, day).load(std::memory_order_relaxed);
  if (fleet_limit_ > 0 && (fleet >= fleet_limit_ || fleet + estimate > fleet_limit_)) {
    return BudgetVerdict::kFleetExhausted;
  }
  return BudgetVerdict::kOk;
}

BudgetVerdict BudgetBook::Charge(Account& account, PicoUsd amount, std::int32_t day) {
  const PicoUsd device =
      Current(account.day, account.spent, day).fetch_add(amount, std::memory_order_relaxed) +
      amount;
  const PicoUsd fleet =
      Current(fleet_day_, fleet_spent_, day).fetch_add(amount, std::memory_order_relaxed) + amount;
  if (account.limit > 0 && device > account.limit) return BudgetVerdict::kDeviceExhausted;
  if (fleet_limit_ > 0 && fleet > fleet_limit_) return BudgetVerdict::kFleetExhausted;
  return BudgetVerdict::kOk;
}

BudgetBook::Reservation BudgetBook::Reserve(Account& account, PicoUsd minimum, PicoUsd step,
                                            PicoUsd maximum, std::int32_t day) {
  std::atomic<PicoUsd>& device = Current(account.day, account.spent, day);
  std::atomic<PicoUsd>& fleet = Current(fleet_day_, fleet_spent_, day);
  for (;;) {
    PicoUsd device_spent = device.load(std::memory_order_relaxed);
    const PicoUsd fleet_spent = fleet.load(std::memory_order_relaxed);
    PicoUsd left = maximum;
    BudgetVerdict short_of = BudgetVerdict::kOk;
    if (account.limit > 0 && account.limit - device_spent < left) {
      left = account.limit - device_spent;
      short_of = BudgetVerdict::kDeviceExhausted;
    }
    if (fleet_limit_ > 0 && fleet_limit_ - fleet_spent < left) {
      left = fleet_limit_ - fleet_spent;
      short_of = BudgetVerdict::kFleetExhausted;
    }
    if ((account.limit > 0 && device_spent >= account.limit) ||
        (fleet_limit_ > 0 && fleet_spent >= fleet_limit_)) {
      return {account.limit > 0 && device_spent >= account.limit ? BudgetVerdict::kDeviceExhausted
                                                                 : BudgetVerdict::kFleetExhausted,
              0};
    }
    if (maximum <= 0) return {BudgetVerdict::kOk, 0};
    if (left < minimum) return {short_of, 0};
    PicoUsd amount = maximum;
    if (left < maximum) amount = step > 0 ? minimum + (left - minimum) / step * step : minimum;
    // Take it from the device, then the fleet; if the fleet moved meanwhile, give it back and
    // look again.
    if (!device.compare_exchange_weak(device_spent, device_spent + amount,
                                      std::memory_order_relaxed)) {
      continue;
    }
    PicoUsd expected = fleet_spent;
    if (fleet.compare_exchange_strong(expected, fleet_spent + amount, std::memory_order_relaxed)) {
      return {BudgetVerdict::kOk, amount};
    }
    device.fetch_sub(amount, std::memory_order_relaxed);
  }
}

PicoUsd BudgetBook::Left(Account& account, std::int32_t day) {
  PicoUsd left = -1;
  if (account.limit > 0) {
    left = account.limit - Current(account.day, account.spent, day).load(std::memory_order_relaxed);
  }
  if (fleet_limit_ > 0) {
    const PicoUsd fleet = fleet_limit_ - FleetSpent(day);
    left = left < 0 ? fleet : std::min(left, fleet);
  }
  return left < 0 && (account.limit > 0 || fleet_limit_ > 0) ? 0 : left;
}

PicoUsd BudgetBook::FleetSpent(std::int32_t day) {
  return Current(fleet_day_, fleet_spent_, day).load(std::memory_order_relaxed);
}

double BudgetBook::FleetLeftUsd(std::int32_t day) {
  if (fleet_limit_ <= 0) return -1;
  const PicoUsd left = fleet_limit_ - FleetSpent(day);
  return left > 0 ? ToUsd(left) : 0.0;
}

PicoUsd BudgetBook::DeviceSpent(std::string_view device, std::int32_t day) {
  Account* a = Find(device);
  return Current(a->day, a->spent, day).load(std::memory_order_relaxed);
}

void BudgetBook::Restore(const std::vector<std::pair<std::string, double>>& spent_usd,
                         std::int32_t day) {
  for (const auto& [device, usd] : spent_usd) Charge(*Find(device), ToPico(usd), day);
}

}  // namespace partita::cloud_gateway
