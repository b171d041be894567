#include "router/fleet_registry.h"

#include <doctest/doctest.h>

namespace partita::router {
namespace {

DeviceSnapshot Device(const std::string& id, const std::string& household, bool phone,
                      double battery) {
  DeviceSnapshot s;
  s.id = id;
  s.household = household;
  s.accepts_offload = phone;
  s.peer_endpoint = phone ? "127.0.0.1:1" : "";
  s.battery_pct = battery;
  s.charging = false;
  s.last_seen = std::chrono::steady_clock::now();
  return s;
}

TEST_CASE("The household phone is the fullest online phone of the household, never itself") {
  FleetRegistry r({}, {});
  auto speaker = r.Register(Device("speaker", "home", false, 100), 1);
  r.Register(Device("phone-a", "home", true, 30), 2);
  r.Register(Device("phone-b", "home", true, 70), 3);
  r.Register(Device("phone-c", "other", true, 99), 4);
  auto found = r.PhoneFor(speaker->Snapshot());
  REQUIRE(found);
  CHECK(found->Snapshot().id == "phone-b");
  CHECK(r.PhoneFor(r.Find("phone-b")->Snapshot())->Snapshot().id == "phone-a");
  r.Disconnected(r.Find("phone-b"), 3);
  CHECK(r.PhoneFor(speaker->Snapshot())->Snapshot().id == "phone-a");
  CHECK(r.PhoneFor(Device("lonely", "", false, 100)) == nullptr);
  CHECK(r.online() == 3);
  CHECK(r.known() == 4);
}

TEST_CASE("A reconnect owns the entry, the old session's disconnect does not mark it offline") {
  FleetRegistry r({}, {});
  auto e = r.Register(Device("phone", "home", true, 50), 1);
  r.Register(Device("phone", "home", true, 50), 2);
  r.Disconnected(e, 1);
  CHECK(r.Find("phone")->Snapshot().online);
  r.Disconnected(e, 2);
  CHECK_FALSE(r.Find("phone")->Snapshot().online);
}

TEST_CASE("Silent devices expire, configured households win, revocation is remembered") {
  FleetRegistry r({"bad"}, {{"speaker", "configured"}});
  auto e = r.Register(Device("speaker", "claimed", false, 100), 1);
  CHECK(e->Snapshot().household == "configured");
  CHECK(r.IsRevoked("bad"));
  r.Revoke("speaker");
  CHECK(r.IsRevoked("speaker"));
  const auto later = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  CHECK(r.ExpireStale(later, std::chrono::seconds(15)) == 1);
  CHECK_FALSE(r.Find("speaker")->Snapshot().online);
}

}  // namespace
}  // namespace partita::router
