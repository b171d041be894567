// Budgets: admission before a request, charging while it streams, days, overrides, restore.
#include "cloud_gateway/budget.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace partita::cloud_gateway {
namespace {

BudgetConfig Config() {
  BudgetConfig c;
  c.fleet_usd_per_day = 10;
  c.device_usd_per_day = 1;
  c.devices["tiny"] = 0.01;
  return c;
}

TEST_CASE("admission checks the estimate against the device and the fleet") {
  BudgetBook book(Config());
  BudgetBook::Account* a = book.Find("speaker");
  CHECK(a == book.Find("speaker"));  // stable
  CHECK(book.Admit(*a, ToPico(0.5), 100) == BudgetVerdict::kOk);
  CHECK(book.Charge(*a, ToPico(0.9), 100) == BudgetVerdict::kOk);
  CHECK(book.Admit(*a, ToPico(0.2), 100) == BudgetVerdict::kDeviceExhausted);
  CHECK(book.Admit(*book.Find("other"), ToPico(0.2), 100) == BudgetVerdict::kOk);
  CHECK(book.Charge(*a, ToPico(0.1), 100) == BudgetVerdict::kOk);  // exactly at the limit
  CHECK(book.Admit(*a, 0, 100) == BudgetVerdict::kDeviceExhausted);
}

TEST_CASE("a charge that crosses the limit reports it, a refund brings it back") {
  BudgetBook book(Config());
  BudgetBook::Account* a = book.Find("tiny");
  CHECK(a->limit == ToPico(0.01));
  CHECK(book.Charge(*a, ToPico(0.006), 7) == BudgetVerdict::kOk);
  CHECK(book.Charge(*a, ToPico(0.006), 7) == BudgetVerdict::kDeviceExhausted);
  CHECK(book.Charge(*a, -ToPico(0.006), 7) == BudgetVerdict::kOk);
  CHECK(book.DeviceSpent("tiny", 7) == ToPico(0.006));
}

TEST_CASE("the fleet budget covers every device") {
  BudgetBook book(Config());
  for (int i = 0; i < 9; ++i) {
    CHECK(book.Charge(*book.Find("d" + std::to_string(i)), ToPico(1), 3) == BudgetVerdict::kOk);
  }
  CHECK(book.Charge(*book.Find("d9"), ToPico(0.5), 3) == BudgetVerdict::kOk);
  CHECK(book.Charge(*book.Find("d10"), ToPico(0.6), 3) == BudgetVerdict::kFleetExhausted);
  CHECK(book.Admit(*book.Find("d11"), 1, 3) == BudgetVerdict::kFleetExhausted);
  CHECK(book.FleetLeftUsd(3) == 0.0);
}

TEST_CASE("a new UTC day starts from zero") {
  BudgetBook book(Config());
  BudgetBook::Account* a = book.Find("speaker");
  CHECK(book.Charge(*a, ToPico(1.5), 20) == BudgetVerdict::kDeviceExhausted);
  CHECK(book.Admit(*a, 1, 21) == BudgetVerdict::kOk);
  CHECK(book.DeviceSpent("speaker", 21) == 0);
  CHECK(book.FleetSpent(21) == 0);
}

TEST_CASE("a reservation takes what is left in whole steps, atomically, or is refused") {
  BudgetBook book(Config());  // device 1 USD, fleet 10 USD
  BudgetBook::Account* a = book.Find("speaker");
  // Unlimited room: the maximum.
  BudgetBook::Reservation r = book.Reserve(*a, ToPico(0.1), ToPico(0.01), ToPico(0.5), 9);
  CHECK(r.verdict == BudgetVerdict::kOk);
  CHECK(r.amount == ToPico(0.5));
  // 0.5 left: the minimum plus 0.4 in steps of 0.03 (13 of them), not past the limit.
  r = book.Reserve(*a, ToPico(0.1), ToPico(0.03), ToPico(2), 9);
  CHECK(r.amount == ToPico(0.1) + 13 * ToPico(0.03));
  CHECK(book.DeviceSpent("speaker", 9) <= a->limit);
  // Less than the minimum left: refused, nothing taken.
  const PicoUsd before = book.DeviceSpent("speaker", 9);
  r = book.Reserve(*a, ToPico(0.1), ToPico(0.01), ToPico(1), 9);
  CHECK(r.verdict == BudgetVerdict::kDeviceExhausted);
  CHECK(r.amount == 0);
  CHECK(book.DeviceSpent("speaker", 9) == before);
  // The fleet's remainder binds too.
  for (int i = 0; i < 9; ++i) book.Charge(*book.Find("d" + std::to_string(i)), ToPico(1), 9);
  r = book.Reserve(*book.Find("d9"), ToPico(0.01), ToPico(0.01), ToPico(1), 9);
  CHECK(r.verdict == BudgetVerdict::kOk);
  CHECK(book.FleetSpent(9) == ToPico(10));
  CHECK(book.Reserve(*book.Find("d10"), 1, 1, 2, 9).verdict == BudgetVerdict::kFleetExhausted);
}

TEST_CASE("concurrent reservations never take more than the budget") {
  BudgetConfig c;
  c.fleet_usd_per_day = 1;
  BudgetBook book(c);
  std::atomic<PicoUsd> reserved{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      BudgetBook::Account* a = book.Find("d" + std::to_string(t));
      for (int i = 0; i < 1000; ++i) {
        reserved += book.Reserve(*a, ToPico(0.0005), ToPico(0.0001), ToPico(0.003), 5).amount;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(reserved.load() == book.FleetSpent(5));
  CHECK(book.FleetSpent(5) <= ToPico(1));
  CHECK(book.FleetSpent(5) > ToPico(1) - ToPico(0.0005));  // it filled up
}

TEST_CASE("zero means unlimited") {
  BudgetBook book(BudgetConfig{});
  BudgetBook::Account* a = book.Find("x");
  CHECK(book.Charge(*a, ToPico(1e5), 1) == BudgetVerdict::kOk);
  CHECK(book.FleetLeftUsd(1) == -1);
}

TEST_CASE("restore adds today's spending from the ledger") {
  BudgetBook book(Config());
  book.Restore({{"speaker", 0.75}, {"car", 0.1}}, 9);
  CHECK(book.DeviceSpent("speaker", 9) == ToPico(0.75));
  CHECK(book.Admit(*book.Find("speaker"), ToPico(0.3), 9) == BudgetVerdict::kDeviceExhausted);
  CHECK(book.FleetSpent(9) == ToPico(0.85));
}

TEST_CASE("prices in pico-USD per token") {
  CHECK(PicoPerToken(1.0) == 1'000'000);  // $1 per 1M tokens = 1e-6 USD per token
  CHECK(PicoPerToken(0.001) == 1000);
  CHECK(ToUsd(ToPico(0.25)) == doctest::Approx(0.25));
}

}  // namespace
}  // namespace partita::cloud_gateway
