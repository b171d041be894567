// Fuzzes the located YAML parser and the catalog loader on arbitrary text. Invariant: no crash,
// no hang, and a rejected input always comes with at least one error diagnostic.
#include <cstdint>
#include <string_view>

#include "device_profiles/catalog_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  partita::Diagnostics diagnostics("fuzz.yaml");
  partita::CatalogPtr catalog = partita::ParseCatalog(text, diagnostics);
  if (!catalog && !diagnostics.has_errors()) __builtin_trap();
  for (const auto& d : diagnostics.all()) (void)d.ToString();
  return 0;
}
