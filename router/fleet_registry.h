// The fleet registry: every device the router has seen, its profile, models, household and the
// last state it reported; which devices are online; which are revoked.
//
// Each device has one DeviceEntry, shared (std::shared_ptr) between the registry and the
// device's session, so a session updates its own state without a registry lookup. An entry's
// fields are guarded by the entry's mutex (Snapshot() copies them out); the registry's maps by
// the registry's shared mutex. Thread-safe throughout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/vocabulary.h"
#include "device_profiles/catalog.h"
#include "policies/decision.h"

namespace partita::router {

using SteadyTime = std::chrono::steady_clock::time_point;

struct DeviceSnapshot {
  std::string id;
  DeviceClassIndex profile = 0;
  std::string profile_name;
  std::string household;
  std::string peer_endpoint;  // host:port where it accepts phone-tier offloads; "" = none
  bool accepts_offload = false;
  policy::ModelSet models;
  policy::ModelSet models_warm;
  double battery_pct = 100;
  bool charging = true;
  Thermal thermal = Thermal::kNominal;
  double free_mem_mb = 0;
  NetworkType network = NetworkType::kWifi;
  double rtt_ms = 0;
  bool metered = false;
  std::uint32_t in_flight = 0;
  bool online = false;
  SteadyTime last_seen{};
  std::uint64_t heartbeats = 0;
};

class DeviceEntry {
 public:
  explicit DeviceEntry(DeviceSnapshot initial) : state_(std::move(initial)) {}

  DeviceSnapshot Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  // Calls `fn(const DeviceSnapshot&)` under the entry's lock, without copying.
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(state_);
  }
  // Applies `fn(DeviceSnapshot&)` under the entry's lock.
  template <typename Fn>
  void Update(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(state_);
  }
  // Which session owns the entry now (a reconnect replaces it); 0 = none.
  std::uint64_t session() const {
    std::lock_guard<std::mutex> lock(mu_);
    return session_;
  }
  void set_session(std::uint64_t s) {
    std::lock_guard<std::mutex> lock(mu_);
    session_ = s;
  }

 private:
  mutable std::mutex mu_;
  DeviceSnapshot state_;       // guarded by mu_
  std::uint64_t session_ = 0;  // guarded by mu_
};

class FleetRegistry {
 public:
  FleetRegistry(std::set<std::string> revoked,
                std::unordered_map<std::string, std::string> households);

  bool IsRevoked(const std::string& device_id) const;
  void Revoke(const std::string& device_id);
  // Replaces the deny-list; returns the ids it adds.
  std::vector<std::string> SetRevoked(std::set<std::string> device_ids);

  // A device's household, on an authority the operator controls: router.yaml's `households:`
  // first, then the household its certificate carries; "" = none. What a device says of itself
  // (Hello.household) is never an authority.
  std::string AuthorityHousehold(const std::string& device_id,
                                 const std::string& certificate_household) const;

  struct Registration {
    std::shared_ptr<DeviceEntry> entry;  // null: refused (see live_session)
    std::uint64_t replaced_session = 0;  // a stale session that owned the entry; the caller
                                         // closes it. 0: none
    std::uint64_t live_session = 0;      // refused: the live session that owns the entry
  };
  // The entry for a device that said Hello (created on first contact), now owned by `session`,
  // with everything the Hello said. `device.household` must come from AuthorityHousehold().
  // The entry always belongs to one live session: while another session of the same device was
  // heard from within `live_within` of `now`, this one is refused and nothing changes; an older
  // session is replaced (returned for the caller to close).
  Registration Register(const DeviceSnapshot& device, std::uint64_t session, SteadyTime now,
                        std::chrono::milliseconds live_within);
  // The device ids of a household, sorted: configured ones and ones seen with it.
  std::vector<std::string> HouseholdMembers(const std::string& household) const;
  std::vector<std::string> RevokedIds() const;
  // Marks the device offline if `session` still owns it.
  void Disconnected(const std::shared_ptr<DeviceEntry>& entry, std::uint64_t session);
  // Marks devices whose last heartbeat is older than `offline_after` offline; returns how many.
  std::size_t ExpireStale(SteadyTime now, std::chrono::milliseconds offline_after);

  // The household phone that can serve `device`'s phone tier: another online device of its
  // household that accepts offloads and has a peer endpoint (the fullest battery first).
  std::shared_ptr<DeviceEntry> PhoneFor(const DeviceSnapshot& device) const;

  std::shared_ptr<DeviceEntry> Find(const std::string& device_id) const;
  std::size_t online() const;
  std::size_t known() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<DeviceEntry>> devices_;  // guarded by mu_
  std::unordered_map<std::string, std::vector<std::shared_ptr<DeviceEntry>>> households_;  // mu_
  std::set<std::string> revoked_;                                       // guarded by mu_
  std::unordered_map<std::string, std::string> configured_households_;  // immutable
};

}  // namespace partita::router
