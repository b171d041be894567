// A compiled, immutable policy: what the router serves, the agent keeps for offline decisions
// and the simulator runs. Built only by the loader (loader.h) from the policy's YAML text and a
// catalog; the text is kept verbatim (source()) so it can be shipped to agents in a
// PolicyBundle and loaded there by the same loader, and its SHA-256 is the version.
//
// Model and device-class indexes in a DecisionInput refer to catalog(). Immutable after
// construction: share one PolicyPtr between any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "device_profiles/catalog_loader.h"
#include "policies/internal/program.h"

namespace partita::policy {

class Policy {
 public:
  struct Meta {
    std::string name;         // metadata.name
    std::string description;  // metadata.description
    std::string file;         // where it was loaded from ("" for text)
    std::string source;       // the YAML text, verbatim
    std::string version;      // Sha256Hex(source)
  };

  Policy(Meta meta, CatalogPtr catalog, internal::Program program)
      : meta_(std::move(meta)), catalog_(std::move(catalog)), program_(std::move(program)) {}

  const std::string& name() const { return meta_.name; }
  const std::string& description() const { return meta_.description; }
  // SHA-256 hex of source(): two routers serving the same text report the same version.
  const std::string& version() const { return meta_.version; }
  const std::string& source() const { return meta_.source; }
  const std::string& file() const { return meta_.file; }
  const CatalogPtr& catalog() const { return catalog_; }

  std::size_t rule_count() const { return program_.rules.size(); }
  // Rule i's `name` (DecisionResult::rule_index); "(defaults)" for -1 or out of range.
  std::string_view rule_name(std::int32_t i) const;
  SourceLocation rule_location(std::size_t i) const { return program_.rule_info[i].location; }
  // The rule index with this name, or -1.
  std::int32_t FindRule(std::string_view name) const;

  std::size_t guard_count() const { return program_.guards.size(); }
  // Guard i's `name` (bit i of DecisionResult::guards_applied); "guard-N" when unnamed.
  std::string_view guard_name(std::size_t i) const;
  // The names of the guards whose bits `mask` sets, comma-separated, as logs store them.
  std::string GuardList(std::uint32_t mask) const;

  // defaults.deadline_ms (5000 when the policy does not set it).
  std::uint32_t default_deadline_ms() const { return program_.defaults.deadline_ms; }

  // The flat compiled form (decision.cc, explain.cc, lint.cc).
  const internal::Program& program() const { return program_; }

 private:
  Meta meta_;
  CatalogPtr catalog_;
  internal::Program program_;
};

using PolicyPtr = std::shared_ptr<const Policy>;

}  // namespace partita::policy
