// The device's own state, read from Linux: battery level and charging from
// /sys/class/power_supply, thermal state from /sys/class/thermal, free memory from
// /proc/meminfo. Any field can be overridden (agent config, or a watched state file) so one
// machine can run a speaker, a phone and a car side by side and tests can drive battery and
// thermal changes. Reads are blocking file I/O of a few small files: call them off the event
// loop or accept ~50 us per read. Pure apart from the reads; safe from any thread.
#pragma once

#include <optional>
#include <string>

#include "common/diagnostic.h"
#include "common/status.h"
#include "common/vocabulary.h"
#include "common/yaml_tree.h"

namespace partita::agent {

struct SystemPaths {
  std::string power_supply = "/sys/class/power_supply";
  std::string thermal = "/sys/class/thermal";
  std::string meminfo = "/proc/meminfo";
  std::string route = "/proc/net/route";
};

struct DeviceState {
  double battery_pct = 100;  // 100 when the device has no battery
  bool charging = true;      // true when the device has no battery (mains)
  bool has_battery = false;
  Thermal thermal = Thermal::kNominal;
  double max_temp_c = 0;  // hottest thermal zone, 0 when none
  double free_mem_mb = 0;
  NetworkType network = NetworkType::kWifi;
  double rtt_ms = 0;  // measured by the agent (router round trip)
  bool metered = false;
};

// Any field set here replaces what the system reports.
struct StateOverrides {
  std::optional<double> battery_pct;
  std::optional<bool> charging;
  std::optional<Thermal> thermal;
  std::optional<double> free_mem_mb;
  std::optional<NetworkType> network;
  std::optional<double> rtt_ms;
  std::optional<bool> metered;
};

// Thermal state from a temperature: nominal below 60 C, fair below 75, serious below 90,
// critical from 90 (typical mobile SoC skin/junction limits; docs/agent.md).
Thermal ThermalFromCelsius(double celsius);

// Network type from the interface of the default route: wl* wifi; eth*/en* ethernet;
// wwan*/rmnet*/ccmni*/ppp* cellular; no default route: offline; anything else: wifi.
NetworkType NetworkFromInterface(std::string_view name);

DeviceState ReadSystemState(const SystemPaths& paths = {});
void ApplyOverrides(const StateOverrides& overrides, DeviceState& state);

// Parses the state-override YAML (a watched state file, or the `state:` map of an agent
// config). Keys: battery_pct, charging, thermal, free_mem_mb, network: {type, rtt_ms, metered}.
std::optional<StateOverrides> ParseStateOverrides(std::string_view yaml_text, Diagnostics& d);
// The same, from an already parsed node (the `state:` map of an agent config).
std::optional<StateOverrides> ReadStateOverrides(const yaml::Node& node, Diagnostics& d);
Result<StateOverrides> LoadStateOverridesFile(const std::string& path);

}  // namespace partita::agent
