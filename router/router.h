// The router daemon: accepts edge agents over TLS 1.3 with mutual authentication, keeps the
// fleet registry, answers DecideRequests with the serving policy, logs decisions and outcomes,
// hot-reloads the policy file and pushes it to every agent, and serves /metrics.
//
// Threads: `io_threads` I/O threads, each running its own io_context (connections are spread
// over them); the decision log's writer thread. Start() returns once listening; Shutdown()
// stops accepting, lets in-flight decisions commit, flushes the log and stops the threads.
// Public methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "http/endpoint.h"
#include "net/asio.h"
#include "net/tls_listener.h"
#include "policies/policy_store.h"
#include "router/cloud_health.h"
#include "router/completions.h"
#include "router/config.h"
#include "router/decider.h"
#include "router/decision_log.h"
#include "router/fleet_registry.h"

namespace partita::router {

class AgentSession;

class Router {
 public:
  static Result<std::unique_ptr<Router>> Create(RouterConfig config);
  ~Router();

  // Binds the agent and metrics ports and starts the I/O threads.
  Status Start();
  // Graceful stop: no new connections, in-flight decisions finish (up to `deadline`), the log
  // is flushed, connections close, threads join. Idempotent.
  void Shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(10));

  net::tcp::endpoint agent_endpoint() const;
  net::tcp::endpoint metrics_endpoint() const;
  policy::PolicyPtr current_policy() const { return policies_->Current(); }
  FleetRegistry& registry() { return *registry_; }
  MetricsRegistry& metrics() { return metrics_; }
  const net::HandshakeStats& handshake_stats() const { return listener_->stats(); }
  std::int64_t run_id() const { return log_->run_id(); }
  storage::BatchWriter::Stats decision_log_stats() const { return log_->stats(); }
  // Reloads the policy file now (also done automatically when it changes). Errors are located;
  // on error the serving policy is unchanged.
  Status ReloadPolicy();
  // Replaces the deny-list of revoked device ids (also done when the config file's `revoked`
  // list changes). Connected devices that are now revoked get ERROR_REVOKED and are closed.
  void SetRevoked(const std::vector<std::string>& device_ids);
  // Observes every policy reload attempt (tests, tooling); called on an I/O thread.
  void SetReloadObserver(std::function<void(const Status&)> observer);
  // Observes every connection refused during the TLS handshake, once it is counted and logged
  // (tests, tooling); called on an I/O thread.
  void SetRefusalObserver(std::function<void(net::HandshakeFailure)> observer);

 private:
  friend class AgentSession;
  struct Metrics {
    Counter* frames_oversize;
    Counter* frames_undecodable;
    Counter* frames_truncated;
    Counter* frames_not_allowed;
    Counter* identity_mismatch;
    Counter* revoked;
    Counter* idle_disconnects;
    Counter* decisions_shed;
    Counter* outcomes;
    Counter* household_claims_ignored;
    Counter* duplicate_refused;
    Counter* duplicate_replaced;
    Counter* policy_reloads_ok;
    Counter* policy_reloads_failed;
    CounterByEnum<net::HandshakeFailure> tls_refused;
    Histogram* decision_latency;  // DecideRequest received -> Decision sent (seconds)
    Histogram* decide_function;   // the policy decision function alone (seconds)
  };

  explicit Router(RouterConfig config);
  // "router.yaml: 'listen'": where an error's setting is, for messages.
  std::string ConfigKey(std::string_view key) const;
  asio::awaitable<void> ServeAgent(net::TlsStream stream, net::PeerIdentity peer);
  asio::awaitable<void> PolicyWatchLoop();
  asio::awaitable<void> HousekeepingLoop();
  void BroadcastPolicy(const policy::PolicyPtr& policy);
  // The household view of `household` (members and the revoked list).
  v1::Envelope HouseholdViewFor(const std::string& household) const;
  // Sends the view to every connected device of `household` but `except_session`.
  void SendHouseholdViews(const std::string& household, std::uint64_t except_session);
  // Closes a silent older session of a device that connected again.
  void ReplaceSession(std::uint64_t old_session, const std::string& who);
  v1::Envelope PolicyBundleFor(const policy::PolicyPtr& policy) const;
  Counter* DecisionCounter(AgentSession& session, const DecisionOutput& out,
                           const std::string& policy_version);
  std::string RenderMetrics();

  RouterConfig config_;
  CatalogPtr catalog_;
  std::unique_ptr<policy::PolicyStore> policies_;
  std::unique_ptr<FleetRegistry> registry_;
  std::unique_ptr<CloudState> cloud_;
  std::unique_ptr<Decider> decider_;
  std::unique_ptr<DecisionLog> log_;
  MetricsRegistry metrics_;
  Metrics m_{};

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>>> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<CompletionQueue> completions_;
  std::unique_ptr<CloudHealthPoller> health_poller_;
  std::unique_ptr<net::TlsListener> listener_;
  std::unique_ptr<http::HttpEndpoint> metrics_endpoint_;
  net::TlsContextPtr tls_;

  std::mutex sessions_mu_;
  std::unordered_map<std::uint64_t, std::weak_ptr<AgentSession>> sessions_;  // sessions_mu_
  std::atomic<std::uint64_t> next_session_{1};
  std::atomic<std::int64_t> in_flight_{0};  // decisions and outcomes awaiting commit
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::string config_stamp_;  // the same for the config file (its `revoked` list)
  std::string policy_stamp_;  // mtime+size of the policy file last loaded (watch loop only)
  std::mutex observer_mu_;
  std::function<void(const Status&)> reload_observer_;           // guarded by observer_mu_
  std::function<void(net::HandshakeFailure)> refusal_observer_;  // guarded by observer_mu_
};

}  // namespace partita::router
