// The edge agent: the daemon on each device. It knows the device's state (StateMonitor), stays
// connected to the router (RouterLink), decides where each request runs — by asking the router,
// or with the last PolicyBundle it received when the router is unreachable or late (offline
// decisions, same decision function) — and reports every outcome.
//
// Threads: one I/O thread running the agent's io_context; the public blocking methods may be
// called from any other thread (they post to it and wait). Start() returns once running.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/status.h"
#include "device_profiles/catalog_loader.h"
#include "edge_agent/app_server.h"
#include "edge_agent/config.h"
#include "edge_agent/peer_server.h"
#include "edge_agent/policy_cache.h"
#include "edge_agent/router_link.h"
#include "edge_agent/state_monitor.h"
#include "edge_agent/tiers.h"
#include "http/endpoint.h"
#include "net/asio.h"
#include "policies/policy.h"
#include "scorer/model.h"

namespace partita::agent {

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Create(AgentConfig config);
  ~Agent();

  Status Start();
  // Graceful stop, from any thread but the agent's; both idempotent. BeginShutdown: from now
  // on new asks are refused ("the agent is shutting down") and new offloads declined; returns
  // once that holds. Shutdown: BeginShutdown, then lets asks and offloads in progress finish
  // (up to drain_timeout), waits up to kOutcomeAckWait for the router to acknowledge their
  // outcomes when it is connected, and stops. Asks still running after the drain are cut off.
  void BeginShutdown();
  void Shutdown();
  static constexpr std::chrono::milliseconds kOutcomeAckWait{2000};

  // Where should a request with these features run? Asks the router (up to decide_timeout),
  // otherwise decides offline with the cached policy. Runs on the agent's thread.
  asio::awaitable<v1::Decision> Decide(const policy::RequestFacts& features);
  void ReportOutcome(v1::Outcome outcome);

  // Blocking forms for other threads (tests, tools).
  v1::Decision DecideBlocking(const policy::RequestFacts& features);
  void ReportOutcomeBlocking(v1::Outcome outcome);
  void RefreshStateBlocking();  // re-read state now and heartbeat if it changed

  bool connected() const { return connected_.load(); }
  // The router refused this device as revoked (it then retries only every few minutes).
  bool revoked_by_router() const;
  // Waits (bounded) for an event: connected (or disconnected) to the router, a given policy
  // version cached, every reported outcome acknowledged. True when it happened in time.
  bool WaitConnected(bool connected, std::chrono::milliseconds timeout);
  bool WaitForPolicy(const std::string& version, std::chrono::milliseconds timeout);
  bool WaitOutcomesAcked(std::chrono::milliseconds timeout);
  std::string policy_version() const;
  std::size_t unacked_outcomes();
  const AgentConfig& config() const { return config_; }
  const Catalog& catalog() const { return *catalog_; }
  // The model behind request.difficulty (config `scorer`), or null for the keyword heuristic.
  const scorer::DifficultyModel* difficulty_model() const { return difficulty_model_; }
  DeviceClassIndex profile() const { return profile_; }
  // Tiers the cached policy's guards forbid for a request with these features (bit per Tier);
  // 0 when no policy is cached. The agent's own check, independent of the router.
  std::uint8_t ForbiddenTiers(const policy::RequestFacts& features) const;
  // Where GET /metrics is served (metrics_listen), once started; port 0 when off.
  net::tcp::endpoint metrics_endpoint() const;
  // The phone-tier server (peer_listen), or null; its counters are read by tests and tools.
  const PeerServer* peer_server() const { return peer_server_.get(); }
  // Where household devices reach this agent's phone tier (peer_listen), once started.
  std::string peer_endpoint() const;
  // Answers one app request (the unix socket calls this).
  asio::awaitable<v1::AskResult> Ask(const v1::AskRequest& request, const ChunkFn& on_chunk);
  asio::io_context& io() { return io_; }

  // The device facts policies read, from the current state (device.* and network.*).
  policy::DecisionInput LocalInput(const policy::RequestFacts& features) const;
  v1::DeviceState WireState() const;

 private:
  explicit Agent(AgentConfig config) : config_(std::move(config)) {}
  v1::Decision DecideOffline(const policy::RequestFacts& features, std::uint64_t request_id,
                             const std::string& why) const;
  void OnPolicyBundle(const v1::PolicyBundle& bundle);
  asio::awaitable<void> Drain();  // Shutdown's work on the agent's thread
  template <typename T>
  T RunOnAgentThread(std::function<T()> fn);

  AgentConfig config_;
  CatalogPtr catalog_;
  std::optional<scorer::DifficultyModel> own_difficulty_model_;  // from a `scorer` file
  const scorer::DifficultyModel* difficulty_model_ = nullptr;
  DeviceClassIndex profile_ = 0;
  policy::ModelSet models_;
  net::TlsContextPtr router_tls_;
  asio::io_context io_{1};
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::steady_timer drain_wake_{io_};  // cancelled each time an ask or offload finishes
  std::atomic<bool> draining_{false};
  std::thread thread_;
  std::unique_ptr<StateMonitor> state_;
  std::shared_ptr<RouterLink> link_;
  std::unique_ptr<TierRunner> device_tier_;
  std::unique_ptr<TierRunner> phone_tier_;
  std::unique_ptr<TierRunner> cloud_tier_;
  std::unique_ptr<AppServer> app_server_;
  // Models the local runtime ran recently (agent thread only): reported as warm.
  std::map<ModelIndex, std::chrono::steady_clock::time_point> warm_until_;
  policy::ModelSet WarmModels() const;
  std::unique_ptr<PeerServer> peer_server_;
  // Counts what the agent does, for /metrics (metrics_listen); thread-safe.
  MetricsRegistry metrics_;
  std::unique_ptr<http::HttpEndpoint> metrics_endpoint_;
  void CountAsk(const v1::AskResult& result);
  // "speaker.yaml: 'router'": where an error's setting is, for messages.
  std::string ConfigKey(std::string_view key) const;
  // Why the phone tier declines `asking` now, or nullopt (agent thread).
  std::optional<std::string> AdmitOffload(const std::string& asking) const;
  // The router's last household view (agent thread); nullopt until one arrives.
  std::optional<v1::HouseholdView> household_view_;
  mutable std::mutex policy_mu_;
  policy::PolicyPtr policy_;  // guarded by policy_mu_: the last bundle (offline decisions)
  std::unique_ptr<PolicyCache> policy_cache_;  // the last bundle on disk; null: no cache path
  std::string cached_version_;  // the version in the cache file (set at start, then io thread)
  std::atomic<bool> connected_{false};
  std::mutex events_mu_;
  std::condition_variable events_;  // connection, policy and ack changes
  std::size_t unacked_ = 0;         // guarded by events_mu_
  std::atomic<std::uint64_t> next_request_id_{0};
  bool started_ = false;
};

}  // namespace partita::agent
