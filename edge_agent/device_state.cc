#include "edge_agent/device_state.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/yaml_reader.h"
#include "common/yaml_tree.h"

namespace partita::agent {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> ReadSmallFile(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::optional<double> ReadNumber(const fs::path& p) {
  std::optional<std::string> s = ReadSmallFile(p);
  if (!s || s->empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s->c_str(), &end);
  if (end == s->c_str()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<StateOverrides> ReadStateOverrides(const yaml::Node& root, Diagnostics& d) {
  yaml::MapReader r(root, d, "the device state",
                    {"battery_pct", "charging", "thermal", "free_mem_mb", "network"}, true);
  if (!r.ok()) return std::nullopt;
  StateOverrides o;
  if (const yaml::Node* n = r.Get("battery_pct"))
    o.battery_pct = yaml::ReadDoubleIn(*n, d, "battery_pct", 0, 100);
  if (const yaml::Node* n = r.Get("charging")) o.charging = yaml::ReadBool(*n, d, "charging");
  if (const yaml::Node* n = r.Get("thermal")) {
    const std::vector<std::string_view> names(kThermalNames.begin(), kThermalNames.end());
    if (auto s = yaml::ReadEnum(*n, d, "thermal", names)) o.thermal = ParseThermal(*s);
  }
  if (const yaml::Node* n = r.Get("free_mem_mb"))
    o.free_mem_mb = yaml::ReadDoubleIn(*n, d, "free_mem_mb", 0, 1e9);
  if (const yaml::Node* net = r.Get("network")) {
    yaml::MapReader nr(*net, d, "network", {"type", "rtt_ms", "metered"});
    if (const yaml::Node* n = nr.Get("type")) {
      const std::vector<std::string_view> names(kNetworkTypeNames.begin(), kNetworkTypeNames.end());
      if (auto s = yaml::ReadEnum(*n, d, "network.type", names)) o.network = ParseNetworkType(*s);
    }
    if (const yaml::Node* n = nr.Get("rtt_ms"))
      o.rtt_ms = yaml::ReadDoubleIn(*n, d, "network.rtt_ms", 0, 1e6);
    if (const yaml::Node* n = nr.Get("metered"))
      o.metered = yaml::ReadBool(*n, d, "network.metered");
  }
  if (d.has_errors()) return std::nullopt;
  return o;
}

Thermal ThermalFromCelsius(double celsius) {
  if (celsius >= 90) return Thermal::kCritical;
  if (celsius >= 75) return Thermal::kSerious;
  if (celsius >= 60) return Thermal::kFair;
  return Thermal::kNominal;
}

NetworkType NetworkFromInterface(std::string_view name) {
  if (name.empty()) return NetworkType::kOffline;
  if (name.starts_with("wl")) return NetworkType::kWifi;
  if (name.starts_with("eth") || name.starts_with("en")) return NetworkType::kEthernet;
  if (name.starts_with("wwan") || name.starts_with("rmnet") || name.starts_with("ccmni") ||
      name.starts_with("ppp")) {
    return NetworkType::kCellular;
  }
  return NetworkType::kWifi;
}

DeviceState ReadSystemState(const SystemPaths& paths) {
  DeviceState s;
  std::error_code ec;
  // Battery: the first supply of type Battery; charging when its status says so or any
  // Mains/USB supply is online.
  bool external_power = false;
  for (const auto& entry : fs::directory_iterator(paths.power_supply, ec)) {
    const std::optional<std::string> type = ReadSmallFile(entry.path() / "type");
    if (!type) continue;
    if (*type == "Battery" && !s.has_battery) {
      if (std::optional<double> cap = ReadNumber(entry.path() / "capacity")) {
        s.has_battery = true;
        s.battery_pct = std::clamp(*cap, 0.0, 100.0);
        const std::optional<std::string> status = ReadSmallFile(entry.path() / "status");
        s.charging = status && (*status == "Charging" || *status == "Full");
      }
    } else if (*type == "Mains" || *type == "USB") {
      if (ReadNumber(entry.path() / "online").value_or(0) > 0) external_power = true;
    }
  }
  if (s.has_battery && external_power) s.charging = true;
  // Thermal: the hottest zone (millidegrees Celsius).
  for (const auto& entry : fs::directory_iterator(paths.thermal, ec)) {
    if (entry.path().filename().string().rfind("thermal_zone", 0) != 0) continue;
    if (std::optional<double> milli = ReadNumber(entry.path() / "temp")) {
      s.max_temp_c = std::max(s.max_temp_c, *milli / 1000.0);
    }
  }
  s.thermal = ThermalFromCelsius(s.max_temp_c);
  // Network: the interface of the default route (destination 00000000) in /proc/net/route.
  {
    std::ifstream route(paths.route);
    std::string line;
    std::string iface;
    std::getline(route, line);  // header
    while (std::getline(route, line)) {
      std::istringstream fields(line);
      std::string name, destination;
      if (fields >> name >> destination && destination == "00000000") {
        iface = name;
        break;
      }
    }
    if (route.is_open()) s.network = NetworkFromInterface(iface);
  }
  // Memory: MemAvailable in kB.
  std::ifstream meminfo(paths.meminfo);
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      s.free_mem_mb = std::strtod(line.c_str() + 13, nullptr) / 1024.0;
      break;
    }
  }
  return s;
}

void ApplyOverrides(const StateOverrides& o, DeviceState& s) {
  if (o.battery_pct) {
    s.battery_pct = *o.battery_pct;
    s.has_battery = true;
    if (!o.charging) s.charging = false;
  }
  if (o.charging) s.charging = *o.charging;
  if (o.thermal) s.thermal = *o.thermal;
  if (o.free_mem_mb) s.free_mem_mb = *o.free_mem_mb;
  if (o.network) s.network = *o.network;
  if (o.rtt_ms) s.rtt_ms = *o.rtt_ms;
  if (o.metered) s.metered = *o.metered;
}

std::optional<StateOverrides> ParseStateOverrides(std::string_view yaml_text, Diagnostics& d) {
  std::optional<yaml::Node> root = yaml::Parse(yaml_text, d);
  if (!root) return std::nullopt;
  return ReadStateOverrides(*root, d);
}

Result<StateOverrides> LoadStateOverridesFile(const std::string& path) {
  Result<std::string> text = yaml::ReadTextFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  Diagnostics d(path);
  std::optional<StateOverrides> o = ParseStateOverrides(*text, d);
  if (!o) return d.ToStatus();
  return *o;
}

}  // namespace partita::agent
