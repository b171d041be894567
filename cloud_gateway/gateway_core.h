// Internal to cloud_gateway: the state the gateway's I/O threads share (Gateway::Core), the
// per-thread Worker, and the device sessions. Not part of the component's public face.
//
// Threading: a Worker and everything in it (upstream clients, its session list) belongs to its
// I/O thread; Core's members are immutable after Start() or atomic, except where noted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/chat_client.h"
#include "cloud_gateway/budget.h"
#include "cloud_gateway/config.h"
#include "cloud_gateway/gateway.h"
#include "cloud_gateway/ledger.h"
#include "cloud_gateway/metrics.h"
#include "cloud_gateway/rate_limit.h"
#include "cloud_gateway/reservation_journal.h"
#include "cloud_gateway/revoked_devices.h"
#include "cloud_gateway/upstream_health.h"
#include "http/endpoint.h"
#include "net/asio.h"
#include "net/tls_listener.h"

namespace partita::cloud_gateway {

namespace asio = net::asio;

inline constexpr std::size_t kMaxUpstreamsPerModel = 32;

struct UpstreamRuntime {
  const UpstreamConfig* config = nullptr;
  std::size_t index = 0;        // flattened: GatewayMetrics::upstreams and Worker::clients
  std::string header_line;      // "X-Partita-Upstream: <name>\r\n"
  std::string rewritten_model;  // config->model, when the upstream serves another name
  net::TlsContextPtr tls;       // https upstreams
  UpstreamHealth health;

  explicit UpstreamRuntime(const GatewayConfig& c)
      : health(c.eject_after_failures, c.eject_duration, c.max_eject_duration) {}
};

struct ModelRuntime {
  const ModelConfig* config = nullptr;
  std::size_t index = 0;
  PicoUsd input_pico_per_token = 0;
  PicoUsd output_pico_per_token = 0;
  std::vector<std::unique_ptr<UpstreamRuntime>> upstreams;  // by priority
  std::atomic<std::uint64_t> round_robin{0};
};

// A device connection, as the drain logic sees it.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void CloseIfIdle() = 0;  // drain: an idle keep-alive connection closes now
  virtual void AbortStream() = 0;  // drain deadline: an in-flight stream ends now
  SessionBase* prev = nullptr;     // intrusive list of the worker's sessions
  SessionBase* next = nullptr;
};

struct Worker {
  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // The thread must have been joined. Pooled upstream sockets close first, then the io_context
  // goes (destroying suspended sessions while the clients and the list still exist).
  ~Worker();

  std::size_t index = 0;
  std::vector<std::unique_ptr<backends::ChatClient>> clients;  // by UpstreamRuntime::index
  // Ledger rows of this thread not yet handed to the ledger: written in one job per
  // kLedgerBatchRows rows or kLedgerBatchDelay, whichever comes first.
  std::vector<LedgerEntry> ledger_batch;
  bool ledger_timer_armed = false;
  SessionBase* sessions = nullptr;  // list head
  std::thread thread;
  asio::io_context io{1};  // destroyed before the members above (declared after them)
  asio::steady_timer ledger_timer{io};

  void Add(SessionBase* s);
  void Remove(SessionBase* s);
};

inline constexpr std::size_t kLedgerBatchRows = 512;
inline constexpr std::chrono::milliseconds kLedgerBatchDelay{50};

// The worker of the calling I/O thread (nullptr elsewhere).
Worker* CurrentWorker();
void SetCurrentWorker(Worker* worker);

struct Gateway::Core {
  explicit Core(GatewayConfigPtr c);

  GatewayConfigPtr config;
  GatewayObserver observer;
  std::vector<std::unique_ptr<ModelRuntime>> models;
  std::vector<UpstreamRuntime*> upstreams;  // flattened
  mutable BudgetBook budgets;               // thread-safe; read by const health queries
  RateLimiter rate_limiter;                 // thread-safe
  RetryBudget retry;
  GatewayMetrics metrics;
  RevokedDevices revoked;  // starts as config->revoked; replaced when the config file changes
  // The journal outlives the ledger, whose writer frees its slots (declared first).
  std::unique_ptr<ReservationJournal> journal;
  std::unique_ptr<Ledger> ledger;
  backends::Timeouts timeouts;
  std::string models_json;  // GET /v1/models body

  std::atomic<std::int64_t> in_flight{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> aborting{false};  // the drain deadline passed
  std::mutex drain_mu;
  std::condition_variable drain_cv;

  net::TlsContextPtr tls_context;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::uint16_t tls_port = 0;
  std::uint16_t plaintext_port = 0;
  std::uint16_t metrics_port = 0;

  // Destroyed in reverse: listeners and acceptors before the workers' io_contexts.
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<net::TlsListener> tls_listener;
  // One per worker (SO_REUSEPORT): the kernel spreads connections and each is served on the
  // thread that accepted it, with no cross-thread wake-up.
  std::vector<std::unique_ptr<net::tcp::acceptor>> plaintext_acceptors;
  std::unique_ptr<net::tcp::acceptor> metrics_acceptor;
  std::shared_ptr<const http::RouteTable> ops_routes;  // what metrics_acceptor serves

  ModelRuntime* FindModel(std::string_view name) const;
  // Adds a row to the calling worker's batch (on its I/O thread).
  void RecordLedger(Worker& worker, LedgerEntry entry);
  // Hands a worker's batch to the ledger (on its I/O thread, or once it has stopped).
  void FlushWorkerLedger(Worker& worker);
  void RequestEnded();  // in_flight--, wakes Drain()
  GatewayHealth Health() const;
  std::string HealthJson() const;
  // The metrics that are state, not counts (in flight, health, budgets, TLS refusals), read
  // when /metrics is rendered. Once, after the models and upstreams exist.
  void RegisterStateMetrics();
};

// Serves one device connection until it closes. `peer` is the verified identity on the TLS
// front; on the plaintext front the device comes from X-Partita-Device or the configured id.
asio::awaitable<void> ServeTlsSession(Gateway::Core& core, net::TlsStream stream,
                                      net::PeerIdentity peer);
asio::awaitable<void> ServePlaintextSession(Gateway::Core& core, net::tcp::socket socket);
// The loopback metrics/health endpoint's routes (GET /metrics, /v1/partita/health, /health),
// served with http::ServeRoutes.
std::shared_ptr<const http::RouteTable> OpsRoutes(Gateway::Core& core);

}  // namespace partita::cloud_gateway
