// The cloud gateway: devices reach large models through it over TLS 1.3 with mutual
// authentication; it keeps their spending inside budgets, meters every request into a SQLite
// ledger and survives upstream failures.
//
//   device --HTTPS (mTLS, OpenAI API)--> Gateway --HTTP(S), keep-alive pools--> upstreams
//
// Per request: identity from the client certificate (or, on the loopback plaintext front, the
// X-Partita-Device header), the body's "model" and "stream" read without re-serialising it,
// budget checked, the healthiest upstream of the model by priority chosen, the response passed
// through with backpressure (the upstream is read only as fast as the device takes it), retries
// only before the first token and within the retry budget, tokens charged as they pass, and one
// ledger row at the end. Endpoints, events, metrics and gateway.yaml are in docs/gateway.md.
//
// Threading: `threads` I/O threads, one io_context each; a device connection and the upstream
// calls it makes live on one thread. Shared state is atomics (health, budgets, metrics) and the
// ledger's writer thread. Public members are safe from any thread except the I/O threads
// (Drain and Stop block).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cloud_gateway/config.h"
#include "cloud_gateway/ledger.h"
#include "cloud_gateway/metrics.h"
#include "common/status.h"
#include "net/tls.h"

namespace partita::cloud_gateway {

struct GatewayHealth {
  bool healthy = false;  // not draining and at least one model has an available upstream
  double load = 0;       // in_flight / capacity
  std::int64_t in_flight = 0;
  std::int64_t capacity = 0;
  bool draining = false;
  double fleet_budget_left_usd = -1;  // -1: no fleet budget
};

// Hooks for tests and embedders. Called on I/O threads: keep them quick and thread-safe.
struct GatewayObserver {
  // A TLS connection was refused (after it was counted and logged).
  std::function<void(net::HandshakeFailure reason)> tls_refused;
  // A chat request finished; its ledger row has been queued. Pointers in the entry are valid
  // only during the call.
  std::function<void(const LedgerEntry& entry)> request_done;
  // The config file changed and the revoked list was re-read (ok), or the file did not load
  // and the list was kept (the error). On the first I/O thread.
  std::function<void(const Status& status)> revoked_reloaded;
};

class Gateway {
 public:
  // Loads TLS files, opens the ledger and restores today's spending from it.
  static Result<std::unique_ptr<Gateway>> Create(GatewayConfigPtr config,
                                                 GatewayObserver observer = {});
  ~Gateway();  // Stop()

  // Binds the fronts and starts the I/O threads.
  Status Start();

  // Bound ports (0 when that front is off). Valid after Start().
  std::uint16_t tls_port() const;
  std::uint16_t plaintext_port() const;
  std::uint16_t metrics_port() const;

  // Graceful shutdown: stops accepting, closes idle connections, lets in-flight requests finish
  // for up to `timeout`, then ends the remaining streams with the gateway_shutdown event,
  // stops the threads and flushes the ledger. Blocking.
  void Drain(std::chrono::milliseconds timeout);
  // Immediate stop (connections are closed); flushes the ledger. Blocking; idempotent.
  void Stop();

  GatewayHealth health() const;
  std::string HealthJson() const;   // the body of GET /v1/partita/health
  std::string MetricsText() const;  // the body of GET /metrics
  const GatewayMetrics& metrics() const;
  const GatewayConfig& config() const;
  // Waits until every ledger row so far is committed.
  Status FlushLedger();

  struct Core;

 private:
  explicit Gateway(std::unique_ptr<Core> core);
  std::unique_ptr<Core> core_;
};

}  // namespace partita::cloud_gateway
