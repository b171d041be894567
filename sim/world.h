// The simulated world: every device of the fleet with its battery, thermal and model state,
// the household links that make the phone tier, and the shared cloud.
//
// Memory is a few hundred bytes per device: static facts are indexes into the catalog and the
// fleet; dynamic state is a handful of doubles updated lazily (battery and heat are integrated
// from the last update when the device is next touched). Network type, RTTs, request features
// and failures are not stored: they are pure functions of (seed, device or request, time), so
// every policy simulated on a seed sees the same world.
//
// Threading: one simulation thread owns the World and mutates its devices. fleet(), catalog(),
// seed(), HourAt() and the Network() overload that takes the network class read nothing a
// simulation writes, so another thread (the arrival generator) may call them meanwhile.
#pragma once

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "common/vocabulary.h"
#include "device_profiles/catalog.h"
#include "policies/decision.h"
#include "sim/fleet.h"

namespace partita::sim {

inline constexpr std::int32_t kNoDevice = -1;

struct SimDevice {
  // Static.
  DeviceClassIndex profile = 0;
  std::uint16_t workload = 0;  // index into FleetSpec::workload.classes
  std::uint32_t household = 0;
  std::int32_t peer_phone = kNoDevice;  // the household phone that serves this device's phone tier
  std::int8_t charge_window = -1;       // index into the class's charging windows; -1 = none
  std::int8_t network_class = -1;       // index into FleetSpec::network.classes; -1 = always wifi
  std::int16_t charging_class = -1;     // index into FleetSpec::charging; -1 = none
  bool on_mains = false;
  policy::ModelSet installed;
  policy::ModelSet resident;
  double capacity_wh = 0;
  double idle_w = 0;
  double active_w = 0;
  double radio_w = 0;

  // Dynamic.
  double battery_wh = 0;
  double last_update_s = 0;
  double heat_s = 0;        // seconds of recent compute (decays with tau)
  double busy_until_s = 0;  // compute queue on this device
  double warm_until_s = 0;  // when `warm_model` is unloaded
  ModelIndex warm_model = 0;
  bool has_warm_model = false;
  bool empty = false;  // battery ran out: offline until recharged

  // Accounting (Wh): initial + charged - consumed == battery (battery devices).
  double initial_wh = 0;
  double charged_wh = 0;
  double idle_wh = 0;
  double work_wh = 0;            // request work drawn from the battery (or mains)
  double work_requested_wh = 0;  // request work asked for (compute + radio), all devices
  std::uint32_t empty_events = 0;
};

struct Household {
  std::uint32_t first_device = 0;
  std::uint16_t device_count = 0;
  std::uint16_t template_index = 0;
  std::uint32_t ordinal = 0;  // index within its template
};

class World {
 public:
  World(const FleetSpec& fleet, const Catalog& catalog, std::uint64_t seed);

  const FleetSpec& fleet() const { return fleet_; }
  const Catalog& catalog() const { return catalog_; }
  std::uint64_t seed() const { return seed_; }
  std::vector<SimDevice>& devices() { return devices_; }
  const std::vector<SimDevice>& devices() const { return devices_; }
  const std::vector<Household>& households() const { return households_; }

  // "family-000042-smart-speaker": stable, human-readable device ids.
  std::string DeviceId(std::uint32_t device) const;

  // Integrates battery (idle drain, charging) and heat decay up to time t (seconds).
  void Advance(SimDevice& d, double t) const;
  // Battery level in percent (100 for mains devices).
  double BatteryPct(const SimDevice& d) const;
  bool Charging(const SimDevice& d, double t) const;
  Thermal ThermalState(const SimDevice& d) const;
  // Draws `joules` from the device's battery for request work; may empty it.
  void Spend(SimDevice& d, double joules) const;
  // Network type of the device at time t (redrawn each redraw period; outages applied).
  NetworkType Network(std::uint32_t device, double t) const;
  // The same, given the device's network_class (SimDevice::network_class, fixed at
  // construction): reads no device, so it is safe from another thread while the simulation
  // runs.
  NetworkType Network(std::uint32_t device, std::int8_t network_class, double t) const;
  // Local hour of day at simulated time t.
  int HourAt(double t) const;

 private:
  double ChargingSeconds(const SimDevice& d, double from, double to) const;

  const FleetSpec& fleet_;
  const Catalog& catalog_;
  std::uint64_t seed_;
  std::vector<SimDevice> devices_;
  std::vector<Household> households_;
};

}  // namespace partita::sim
