// Loading the device and model catalog from YAML, with located errors.
//
// The format is documented in docs/catalog.md. Every problem (unknown key, wrong type, missing
// number, a runtime naming an unknown model, a value out of range) is reported as
// FILE:LINE:COL: error: ... in one pass. Loading is blocking file I/O; do it at start-up.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "common/status.h"
#include "device_profiles/catalog.h"

namespace partita {

using CatalogPtr = std::shared_ptr<const Catalog>;

// Parses catalog YAML. On failure returns nullptr with the problems in `diagnostics`.
CatalogPtr ParseCatalog(std::string_view yaml_text, Diagnostics& diagnostics);

// Reads and parses a catalog file; the error lists every located problem.
Result<CatalogPtr> LoadCatalogFile(const std::string& path);

// The catalog shipped with Partita (device_profiles/catalog.yaml, compiled into the binary).
CatalogPtr DefaultCatalog();
// Its YAML text.
std::string_view DefaultCatalogYaml();

// The catalog at `path`, or the default one when `path` is empty.
Result<CatalogPtr> LoadCatalogOrDefault(const std::string& path);

}  // namespace partita
