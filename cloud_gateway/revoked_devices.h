// The devices this gateway refuses (gateway.yaml `revoked:`), replaced whole when the file
// changes. Thread-safe: Contains() from any I/O thread (no lock while the list is empty, the
// usual case), Set() from the config watcher.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace partita::cloud_gateway {

class RevokedDevices {
 public:
  explicit RevokedDevices(const std::vector<std::string>& ids = {}) { Set(ids); }

  bool Contains(std::string_view device) const {
    if (!any_.load(std::memory_order_acquire)) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return ids_.find(device) != ids_.end();
  }

  void Set(const std::vector<std::string>& ids) {
    std::lock_guard<std::mutex> lock(mu_);
    ids_ = std::set<std::string, std::less<>>(ids.begin(), ids.end());
    any_.store(!ids_.empty(), std::memory_order_release);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> ids_;  // guarded by mu_
  std::atomic<bool> any_{false};
};

}  // namespace partita::cloud_gateway
