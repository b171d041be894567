#include "sim/world.h"

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace partita::sim {
namespace {

FleetPtr PhoneFleet(const std::string& charging) {
  const std::string text = R"(apiVersion: partita/v1
kind: Fleet
metadata: {name: t}
spec:
  households:
    - {name: h, count: 3, devices: [phone-mid, smart-speaker]}
  workload:
    classes:
      - {class: phone, requests_per_day: 1}
      - {class: speaker, requests_per_day: 1}
    kinds:
      - {kind: chat, share: 1}
  network:
    classes:
      - {class: phone, wifi: 0.5, cellular: 0.5}
    outages:
      - {start_hour: 5, duration_minutes: 60, share: 1}
)" + charging;
  Diagnostics d("t.yaml");
  FleetPtr f = ParseFleet(text, d, *DefaultCatalog());
  REQUIRE_MESSAGE(f, d.ToString());
  return f;
}

TEST_CASE("Households link devices to their phone") {
  FleetPtr fleet = PhoneFleet("");
  World world(*fleet, *DefaultCatalog(), 1);
  REQUIRE(world.devices().size() == 6);
  // Each speaker's phone tier is its household's phone; a lone phone has none.
  CHECK(world.devices()[1].peer_phone == 0);
  CHECK(world.devices()[0].peer_phone == kNoDevice);
  CHECK(world.devices()[3].peer_phone == 2);
  CHECK(world.DeviceId(1) == "h-000000-smart-speaker");
  CHECK(world.devices()[1].on_mains);
  CHECK_FALSE(world.devices()[0].on_mains);
}

TEST_CASE("Idle drain empties a battery, and the accounting balances") {
  FleetPtr fleet = PhoneFleet("");  // no charging
  World world(*fleet, *DefaultCatalog(), 1);
  SimDevice& phone = world.devices()[0];
  const double start = phone.battery_wh;
  world.Advance(phone, 3600);
  CHECK(phone.battery_wh == doctest::Approx(start - 0.35));  // 0.35 W for an hour
  world.Spend(phone, 3600.0);                                // 1 Wh of work
  CHECK(phone.battery_wh == doctest::Approx(start - 1.35));
  world.Advance(phone, 400 * 3600);  // long enough to run flat
  CHECK(phone.empty);
  CHECK(phone.empty_events == 1);
  CHECK(phone.battery_wh == 0);
  CHECK(phone.initial_wh + phone.charged_wh - phone.idle_wh - phone.work_wh ==
        doctest::Approx(phone.battery_wh).epsilon(1e-9));
}

TEST_CASE("Charging windows wrap past midnight and wake an empty device") {
  FleetPtr fleet = PhoneFleet(R"(  charging:
    - class: phone
      start_pct: 0
      charger_w: 10
      windows: [{start_hour: 22, end_hour: 2, probability: 1}]
)");
  World world(*fleet, *DefaultCatalog(), 1);
  SimDevice& phone = world.devices()[0];
  CHECK(phone.empty);
  CHECK_FALSE(world.Charging(phone, 21 * 3600));
  CHECK(world.Charging(phone, 23 * 3600));
  CHECK(world.Charging(phone, 24 * 3600 + 1800));
  world.Advance(phone, 24 * 3600 + 2 * 3600);  // through one 4-hour window
  // 4 h x 10 W in, capped at capacity (19.3 Wh); an empty device draws no idle power.
  CHECK(phone.battery_wh == doctest::Approx(19.3));
  CHECK_FALSE(phone.empty);
  CHECK(phone.initial_wh + phone.charged_wh - phone.idle_wh - phone.work_wh ==
        doctest::Approx(phone.battery_wh).epsilon(1e-9));
}

TEST_CASE("Network draws are deterministic and outages take devices offline") {
  FleetPtr fleet = PhoneFleet("");
  World a(*fleet, *DefaultCatalog(), 9), b(*fleet, *DefaultCatalog(), 9);
  int wifi = 0;
  for (int hour = 0; hour < 200; ++hour) {
    const NetworkType n = a.Network(0, hour * 3600.0 + 10);
    CHECK(n == b.Network(0, hour * 3600.0 + 10));
    if (hour != 5) {
      CHECK(n != NetworkType::kOffline);
      wifi += n == NetworkType::kWifi ? 1 : 0;
    }
  }
  CHECK(wifi > 60);
  CHECK(wifi < 140);
  CHECK(a.Network(0, 5.5 * 3600) == NetworkType::kOffline);
  CHECK(a.Network(1, 5.5 * 3600) == NetworkType::kOffline);
}

}  // namespace
}  // namespace partita::sim
