// The serving policy, swapped atomically on reload.
//
// A PolicyStore holds one std::shared_ptr<const Policy>. Readers take Current() (an atomic
// load) and decide with that pointer: a decision in flight keeps the policy it started with
// even if a reload swaps in another. Load*() compiles and lints the new text first; if the
// loader or lint reports any error, nothing changes and the located errors are returned, so a
// broken save never replaces the policy that is serving.
// Thread-safe: any thread may call any method.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "common/status.h"
#include "device_profiles/catalog_loader.h"
#include "policies/policy.h"

namespace partita::policy {

class PolicyStore {
 public:
  explicit PolicyStore(PolicyPtr initial = nullptr) : current_(std::move(initial)) {}

  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // The serving policy (null before the first successful load).
  PolicyPtr Current() const { return current_.load(std::memory_order_acquire); }

  // Compiles and lints `text`; on success serves it and returns it; on any error returns
  // nullptr, keeps the serving policy, and leaves the located problems in `diagnostics`
  // (warnings never block a load).
  PolicyPtr Load(std::string_view text, Diagnostics& diagnostics, CatalogPtr catalog = nullptr);

  // Reads `path` and Load()s it; the error lists every located problem, one per line.
  Result<PolicyPtr> LoadFile(const std::string& path, CatalogPtr catalog = nullptr);

  // Serves `policy` without checks (an agent installing a bundle the router already checked).
  void Set(PolicyPtr policy);

  // How many times the serving policy has changed.
  std::uint64_t swaps() const { return swaps_.load(std::memory_order_relaxed); }

 private:
  std::atomic<PolicyPtr> current_;
  std::atomic<std::uint64_t> swaps_{0};
};

}  // namespace partita::policy
