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

// Registers with a liveness window of 10 s at the devices' last_seen (now).
FleetRegistry::Registration Reg(FleetRegistry& r, const DeviceSnapshot& d, std::uint64_t session,
                                std::chrono::milliseconds live_within = std::chrono::seconds(10)) {
  return r.Register(d, session, std::chrono::steady_clock::now(), live_within);
}

TEST_CASE("The household phone is the fullest online phone of the household, never itself") {
  FleetRegistry r({}, {});
  auto speaker = Reg(r, Device("speaker", "home", false, 100), 1).entry;
  Reg(r, Device("phone-a", "home", true, 30), 2);
  Reg(r, Device("phone-b", "home", true, 70), 3);
  Reg(r, Device("phone-c", "other", true, 99), 4);
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

TEST_CASE("One live session per device: a second is refused, a stale one replaced") {
  FleetRegistry r({}, {});
  auto first = Reg(r, Device("car", "home", false, 50), 1);
  auto e = first.entry;
  CHECK(first.replaced_session == 0);
  DeviceSnapshot impostor = Device("car", "home", true, 50);
  impostor.profile_name = "phone-mid";
  // The first session was heard from just now: the second is refused, the entry untouched.
  const auto refused = Reg(r, impostor, 2);
  CHECK(refused.entry == nullptr);
  CHECK(refused.live_session == 1);
  CHECK(e->Snapshot().peer_endpoint.empty());
  CHECK(e->session() == 1);
  // A session silent for longer than the window (a half-open connection) is replaced.
  const auto replaced = Reg(r, impostor, 3, std::chrono::milliseconds(-1));
  CHECK(replaced.entry == e);
  CHECK(replaced.replaced_session == 1);
  CHECK(e->Snapshot().peer_endpoint == "127.0.0.1:1");
  CHECK(e->session() == 3);
  // The replaced session's disconnect does not mark the device offline; the owner's does.
  r.Disconnected(e, 1);
  CHECK(r.Find("car")->Snapshot().online);
  r.Disconnected(e, 3);
  CHECK_FALSE(r.Find("car")->Snapshot().online);
  // Offline, a new session takes the entry.
  CHECK(Reg(r, Device("car", "home", false, 50), 4).entry == e);
}

TEST_CASE("Silent devices expire, configured households win, revocation is remembered") {
  FleetRegistry r({"bad"}, {{"speaker", "configured"}});
  CHECK(r.AuthorityHousehold("speaker", "from-certificate") == "configured");
  CHECK(r.AuthorityHousehold("car", "from-certificate") == "from-certificate");
  CHECK(r.AuthorityHousehold("car", "") == "");
  auto e = Reg(r, Device("speaker", r.AuthorityHousehold("speaker", ""), false, 100), 1).entry;
  CHECK(e->Snapshot().household == "configured");
  Reg(r, Device("car", "configured", false, 100), 2);
  CHECK(r.HouseholdMembers("configured") == std::vector<std::string>{"car", "speaker"});
  CHECK(r.HouseholdMembers("").empty());
  CHECK(r.RevokedIds() == std::vector<std::string>{"bad"});
  CHECK(r.IsRevoked("bad"));
  r.Revoke("speaker");
  CHECK(r.IsRevoked("speaker"));
  const auto later = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  CHECK(r.ExpireStale(later, std::chrono::seconds(15)) == 2);
  CHECK_FALSE(r.Find("speaker")->Snapshot().online);
}

}  // namespace
}  // namespace partita::router
