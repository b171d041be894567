// The agent's copy, on disk, of the last PolicyBundle the router pushed, so that an agent
// restarted while the router is down still decides offline with the router's policy. The file
// holds the policy's YAML source exactly as the router sent it (its SHA-256 is the version), so
// it loads with the policy loader like any policy file. It is policy text, never user data.
//
// Writes are atomic (a temp file next to it, fsync, rename: a crash leaves the old file or the
// new one, never half of one) and run on the cache's own thread, never on the agent's event
// loop; when several are pending only the newest is written. Thread-safe.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "device_profiles/catalog_loader.h"
#include "policies/policy.h"

namespace partita::agent {

class PolicyCache {
 public:
  explicit PolicyCache(std::string path);
  ~PolicyCache();  // writes what is pending, then stops
  PolicyCache(const PolicyCache&) = delete;
  PolicyCache& operator=(const PolicyCache&) = delete;

  // The cached policy, validated by the policy loader. NotFound when there is no cache file;
  // another error (with the loader's located diagnostics) when it does not load.
  Result<policy::PolicyPtr> Load(CatalogPtr catalog) const;
  // Queues `source` to replace the cache file; returns at once.
  void Store(std::string source);
  // Waits until every queued write is done (or failed and logged).
  void Flush();

  const std::string& path() const { return path_; }

 private:
  void Run();

  const std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> pending_;  // guarded by mu_
  bool writing_ = false;                // guarded by mu_
  bool stop_ = false;                   // guarded by mu_
  std::thread thread_;
};

// Replaces `path` with `data` atomically: write `path`.tmp, fsync it, rename it over `path`.
Status WriteFileAtomically(const std::string& path, const std::string& data);

}  // namespace partita::agent
