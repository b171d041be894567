// Fuzzes the fleet loader on arbitrary text. Invariants: no crash or hang; a rejected input has
// at least one error; an accepted fleet is internally consistent (shares sum to 1, household
// devices exist in the catalog) and can be scaled.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "sim/fleet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const partita::CatalogPtr catalog = partita::DefaultCatalog();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  partita::Diagnostics d("fuzz.yaml");
  partita::sim::FleetPtr fleet = partita::sim::ParseFleet(text, d, *catalog);
  if (!fleet) {
    if (!d.has_errors()) __builtin_trap();
    return 0;
  }
  double total = 0;
  for (const auto& k : fleet->workload.kinds) total += k.share;
  if (std::abs(total - 1.0) > 1e-6) __builtin_trap();
  for (const auto& h : fleet->households) {
    for (auto idx : h.devices) {
      if (idx >= catalog->devices().size()) __builtin_trap();
    }
  }
  (void)partita::sim::ScaleFleet(*fleet, 1000).TotalDevices();
  return 0;
}
