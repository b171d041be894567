// Linting policies: what `partita policy lint` reports, as located errors and warnings.
//
// Everything the loader rejects (syntax, unknown keys / fields / operators / tiers / models
// with a did-you-mean, wrong types, values out of range), plus whole-policy analysis of the
// compiled conditions (docs/policies.md, "Lint checks"): duplicate rule and guard names;
// rules that can never match (conditions that contradict, or an earlier rule matching every
// request they would); no catch-all rule and no defaults.route; a rule, fallback or default
// that sends requests a guard covers to a tier the guard forbids (an error when every request
// it handles is covered, a warning when some are); conditions that are always or never true
// for their field's range; malformed `tests:` cases. Not thread-safe per Diagnostics; the
// functions themselves share nothing.
#pragma once

#include <string_view>

#include "common/diagnostic.h"
#include "device_profiles/catalog_loader.h"
#include "policies/policy.h"

namespace partita::policy {

// Loads `text` and lints it. Returns the compiled policy when it loads (the diagnostics may
// still hold lint errors), nullptr when it does not.
PolicyPtr LintPolicy(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog = nullptr);

// The whole-policy checks alone, on a policy that loaded.
void LintLoadedPolicy(const Policy& policy, Diagnostics& diagnostics);

}  // namespace partita::policy
