#include "edge_agent/device_state.h"

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace partita::agent {
namespace {

TEST_CASE("Battery, charging, thermal and memory are read from sysfs and procfs files") {
  testing::TempDir tmp;
  tmp.Write("ps/BAT0/type", "Battery\n");
  tmp.Write("ps/BAT0/capacity", "42\n");
  tmp.Write("ps/BAT0/status", "Discharging\n");
  tmp.Write("ps/AC/type", "Mains\n");
  tmp.Write("ps/AC/online", "0\n");
  tmp.Write("th/thermal_zone0/temp", "45000\n");
  tmp.Write("th/thermal_zone1/temp", "78500\n");
  tmp.Write("th/cooling_device0/temp", "99000\n");  // not a zone
  tmp.Write("meminfo", "MemTotal:  8000000 kB\nMemFree: 1 kB\nMemAvailable:  2097152 kB\n");
  tmp.Write("route",
            "Iface\tDestination\tGateway\tFlags\n"
            "docker0\t000011AC\t00000000\t0001\n"
            "wlan0\t00000000\t0101A8C0\t0003\n");
  SystemPaths paths{tmp.File("ps"), tmp.File("th"), tmp.File("meminfo"), tmp.File("route")};
  DeviceState s = ReadSystemState(paths);
  CHECK(s.has_battery);
  CHECK(s.battery_pct == 42);
  CHECK_FALSE(s.charging);
  CHECK(s.max_temp_c == doctest::Approx(78.5));
  CHECK(s.thermal == Thermal::kSerious);
  CHECK(s.free_mem_mb == doctest::Approx(2048));
  CHECK(s.network == NetworkType::kWifi);
  tmp.Write("route", "Iface\tDestination\tGateway\tFlags\nrmnet_data0\t00000000\t0\t3\n");
  CHECK(ReadSystemState(paths).network == NetworkType::kCellular);
  tmp.Write("route", "Iface\tDestination\tGateway\tFlags\n");
  CHECK(ReadSystemState(paths).network == NetworkType::kOffline);

  tmp.Write("ps/AC/online", "1\n");
  CHECK(ReadSystemState(paths).charging);
}

TEST_CASE("A machine without battery or thermal zones reads as mains powered and nominal") {
  testing::TempDir tmp;
  SystemPaths paths{tmp.File("none"), tmp.File("none"), tmp.File("none"), tmp.File("none")};
  DeviceState s = ReadSystemState(paths);
  CHECK_FALSE(s.has_battery);
  CHECK(s.battery_pct == 100);
  CHECK(s.charging);
  CHECK(s.thermal == Thermal::kNominal);
}

TEST_CASE("Overrides replace readings, a state file gets located errors") {
  Diagnostics d("state.yaml");
  auto o = ParseStateOverrides("battery_pct: 12\nthermal: serious\nnetwork: {type: cellular}\n", d);
  REQUIRE_MESSAGE(o, d.ToString());
  DeviceState s;
  ApplyOverrides(*o, s);
  CHECK(s.battery_pct == 12);
  CHECK_FALSE(s.charging);  // a battery level without `charging` means on battery
  CHECK(s.thermal == Thermal::kSerious);
  CHECK(s.network == NetworkType::kCellular);

  Diagnostics bad("state.yaml");
  CHECK_FALSE(ParseStateOverrides("battery: 12\nthermal: hot\n", bad));
  CHECK(bad.ToString() ==
        "state.yaml:1:1: error: unknown key 'battery' in the device state; did you mean "
        "'battery_pct'?\nstate.yaml:2:10: error: unknown value 'hot' for 'thermal'; expected "
        "nominal, fair, serious or critical\n");
}

TEST_CASE("Temperatures map to thermal states") {
  CHECK(ThermalFromCelsius(30) == Thermal::kNominal);
  CHECK(ThermalFromCelsius(60) == Thermal::kFair);
  CHECK(ThermalFromCelsius(75) == Thermal::kSerious);
  CHECK(ThermalFromCelsius(95) == Thermal::kCritical);
}

}  // namespace
}  // namespace partita::agent
