// Loading policies: YAML text -> a compiled, immutable Policy, with every problem located.
//
// The format is documented in docs/policies.md. The loader rejects unknown keys, fields,
// operators, tiers, models and device classes (with a did-you-mean), wrong value types and
// values out of range, and reports each as FILE:LINE:COL: error: ... in one pass. It does not
// run the whole-policy analysis of lint.h (unreachable rules, guard conflicts, a missing
// catch-all): agents load shipped policies with it, and guards are enforced when deciding
// anyway. A `tests:` list in the file is accepted and ignored here (test_runner.h reads it).
// Pure functions apart from the file read; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "common/status.h"
#include "device_profiles/catalog_loader.h"
#include "policies/policy.h"

namespace partita::policy {

// Compiles policy YAML against `catalog` (the default catalog when null). On failure returns
// nullptr with located errors in `diagnostics`, whose file() names the source in messages and
// becomes Policy::file().
PolicyPtr ParsePolicy(std::string_view text, Diagnostics& diagnostics,
                      CatalogPtr catalog = nullptr);

// For lint only: like ParsePolicy, but when the document is readable yet has errors, returns
// what did compile, with program().partial set (rules whose `when` failed are marked broken;
// internal/program.h). Such a policy must never decide. nullptr when not even that compiled.
PolicyPtr ParsePartialPolicy(std::string_view text, Diagnostics& diagnostics,
                             CatalogPtr catalog = nullptr);

// Reads and compiles a policy file; the error lists every located problem, one per line.
Result<PolicyPtr> LoadPolicyFile(const std::string& path, CatalogPtr catalog = nullptr);

}  // namespace partita::policy
