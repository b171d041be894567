#include "router/fleet_registry.h"

#include <algorithm>
#include <iterator>

namespace partita::router {

FleetRegistry::FleetRegistry(std::set<std::string> revoked,
                             std::unordered_map<std::string, std::string> households)
    : revoked_(std::move(revoked)), configured_households_(std::move(households)) {}

bool FleetRegistry::IsRevoked(const std::string& device_id) const {
  std::shared_lock lock(mu_);
  return revoked_.count(device_id) > 0;
}

void FleetRegistry::Revoke(const std::string& device_id) {
  std::unique_lock lock(mu_);
  revoked_.insert(device_id);
}

std::vector<std::string> FleetRegistry::SetRevoked(std::set<std::string> device_ids) {
  std::vector<std::string> added;
  std::unique_lock lock(mu_);
  std::set_difference(device_ids.begin(), device_ids.end(), revoked_.begin(), revoked_.end(),
                      std::back_inserter(added));
  revoked_ = std::move(device_ids);
  return added;
}

std::string FleetRegistry::AuthorityHousehold(const std::string& device_id,
                                              const std::string& certificate_household) const {
  if (auto it = configured_households_.find(device_id); it != configured_households_.end()) {
    return it->second;
  }
  return certificate_household;
}

FleetRegistry::Registration FleetRegistry::Register(const DeviceSnapshot& device,
                                                    std::uint64_t session, SteadyTime now,
                                                    std::chrono::milliseconds live_within) {
  DeviceSnapshot snap = device;
  snap.online = true;
  Registration out;
  std::unique_lock lock(mu_);
  auto& slot = devices_[snap.id];
  if (!slot) {
    slot = std::make_shared<DeviceEntry>(snap);
  } else {
    const DeviceSnapshot old = slot->Snapshot();
    const std::uint64_t owner = slot->session();
    if (owner != 0 && owner != session && old.online) {
      if (now - old.last_seen <= live_within) {
        out.live_session = owner;
        return out;
      }
      out.replaced_session = owner;
    }
    if (old.household != snap.household) {
      auto& members = households_[old.household];
      members.erase(std::remove(members.begin(), members.end(), slot), members.end());
    }
    slot->Update([&](DeviceSnapshot& s) {
      const std::uint64_t heartbeats = s.heartbeats;
      s = snap;
      s.heartbeats = heartbeats;
    });
  }
  slot->set_session(session);
  if (!snap.household.empty()) {
    auto& members = households_[snap.household];
    if (std::find(members.begin(), members.end(), slot) == members.end()) members.push_back(slot);
  }
  out.entry = slot;
  return out;
}

std::vector<std::string> FleetRegistry::HouseholdMembers(const std::string& household) const {
  std::set<std::string> ids;
  if (household.empty()) return {};
  for (const auto& [id, h] : configured_households_) {
    if (h == household) ids.insert(id);
  }
  std::shared_lock lock(mu_);
  if (auto it = households_.find(household); it != households_.end()) {
    for (const auto& member : it->second) {
      member->Read([&](const DeviceSnapshot& s) { ids.insert(s.id); });
    }
  }
  return {ids.begin(), ids.end()};
}

std::vector<std::string> FleetRegistry::RevokedIds() const {
  std::shared_lock lock(mu_);
  return {revoked_.begin(), revoked_.end()};
}

void FleetRegistry::Disconnected(const std::shared_ptr<DeviceEntry>& entry, std::uint64_t session) {
  if (!entry || entry->session() != session) return;
  entry->Update([](DeviceSnapshot& s) { s.online = false; });
  entry->set_session(0);
}

std::size_t FleetRegistry::ExpireStale(SteadyTime now, std::chrono::milliseconds offline_after) {
  std::shared_lock lock(mu_);
  std::size_t n = 0;
  for (auto& [id, entry] : devices_) {
    entry->Update([&](DeviceSnapshot& s) {
      if (s.online && now - s.last_seen > offline_after) {
        s.online = false;
        ++n;
      }
    });
  }
  return n;
}

std::shared_ptr<DeviceEntry> FleetRegistry::PhoneFor(const DeviceSnapshot& device) const {
  if (device.household.empty()) return nullptr;
  std::shared_lock lock(mu_);
  auto it = households_.find(device.household);
  if (it == households_.end()) return nullptr;
  std::shared_ptr<DeviceEntry> best;
  double best_battery = -0.5;
  for (const auto& member : it->second) {
    const double battery = member->Read([&](const DeviceSnapshot& s) {
      if (s.id == device.id || !s.online || !s.accepts_offload || s.peer_endpoint.empty()) {
        return -1.0;
      }
      return s.charging ? 200.0 : s.battery_pct;
    });
    if (battery > best_battery) {
      best = member;
      best_battery = battery;
    }
  }
  return best;
}

std::shared_ptr<DeviceEntry> FleetRegistry::Find(const std::string& device_id) const {
  std::shared_lock lock(mu_);
  auto it = devices_.find(device_id);
  return it == devices_.end() ? nullptr : it->second;
}

std::size_t FleetRegistry::online() const {
  std::shared_lock lock(mu_);
  std::size_t n = 0;
  for (const auto& [id, entry] : devices_) {
    n += entry->Read([](const DeviceSnapshot& s) { return s.online; }) ? 1 : 0;
  }
  return n;
}

std::size_t FleetRegistry::known() const {
  std::shared_lock lock(mu_);
  return devices_.size();
}

}  // namespace partita::router
