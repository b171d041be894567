#include "policies/policy_store.h"

#include "common/yaml_tree.h"
#include "policies/lint.h"

namespace partita::policy {

PolicyPtr PolicyStore::Load(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog) {
  PolicyPtr policy = LintPolicy(text, diagnostics, std::move(catalog));
  if (!policy || diagnostics.has_errors()) return nullptr;
  Set(policy);
  return policy;
}

Result<PolicyPtr> PolicyStore::LoadFile(const std::string& path, CatalogPtr catalog) {
  Result<std::string> text = yaml::ReadTextFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diagnostics(path);
  PolicyPtr policy = Load(*text, diagnostics, std::move(catalog));
  if (!policy) return diagnostics.ToStatus();
  return policy;
}

void PolicyStore::Set(PolicyPtr policy) {
  current_.store(std::move(policy), std::memory_order_release);
  swaps_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace partita::policy
