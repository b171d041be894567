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

std::shared_ptr<DeviceEntry> FleetRegistry::Register(const DeviceSnapshot& hello,
                                                     std::uint64_t session) {
  DeviceSnapshot snap = hello;
  if (auto it = configured_households_.find(snap.id); it != configured_households_.end()) {
    snap.household = it->second;
  }
  snap.online = true;
  std::unique_lock lock(mu_);
  auto& slot = devices_[snap.id];
  if (!slot) {
    slot = std::make_shared<DeviceEntry>(snap);
  } else {
    const std::string old_household = slot->Snapshot().household;
    if (old_household != snap.household) {
      auto& members = households_[old_household];
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
  return slot;
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
