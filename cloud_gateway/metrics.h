// The gateway's metric families, declared once in the one registry (common/metrics.h) and
// rendered as Prometheus text on /metrics.
//
// Series are created at start-up and kept as pointers, indexed by small enums (sized from their
// kCount) and by the model/upstream positions of the config, so the hot path never hashes a
// label. State that is not a counter (in flight, health, budgets, TLS refusals) is read when
// /metrics is rendered (Gateway::Core registers it). Safe from any thread. Metric names and
// labels are listed in docs/gateway.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/chat_client.h"
#include "cloud_gateway/config.h"
#include "common/metrics.h"
#include "net/tls.h"

namespace partita::cloud_gateway {

// How a request ended (the ledger's `outcome` and a metrics label).
enum class Outcome : std::uint8_t {
  kOk,              // complete answer delivered
  kBadRequest,      // the device's request was refused as invalid (4xx)
  kBudgetRefused,   // refused before starting: budget spent (429)
  kBudgetExceeded,  // stream ended with the budget_exceeded event
  kUpstreamError,   // every attempt failed before the first token (error status to the device)
  kUpstreamFailed,  // the upstream failed after the first token (upstream_failed event)
  kNoUpstream,      // every upstream of the model is ejected (503)
  kOverloaded,      // in-flight requests at capacity (503)
  kClientGone,      // the device disconnected or stopped reading mid-response
  kShutdown,        // cut by the drain deadline (gateway_shutdown event)
  kRateLimited,     // refused by the device's rate limit (429 with Retry-After)
  kCount,
};
const char* OutcomeName(Outcome outcome);

// Bad input the gateway refused (a counter per reason).
enum class BadInput : std::uint8_t {
  kMalformedJson,    // body not valid JSON or not a chat request (400)
  kOversizeBody,     // body over max_body_bytes (413)
  kHeadersTooLarge,  // request head over max_header_bytes (431)
  kBadHttp,          // not parseable HTTP (400, connection closed)
  kUnknownModel,     // model not configured (404)
  kNoIdentity,       // plaintext front without a device id (401)
  kForbidden,        // a non-device identity asked for a completion (403)
  kRevoked,          // a revoked device (gateway.yaml `revoked:`) asked for a completion (403)
  kNotFound,         // unknown path (404)
  kMethod,           // wrong method (405)
  kClientTimeout,    // a device too slow to send its request or to read the answer
  kCount,
};
const char* BadInputName(BadInput reason);

struct ModelMetrics {
  CounterByEnum<Outcome> outcomes;  // requests_total{model, outcome}
  Counter* tokens_in = nullptr;
  Counter* tokens_out = nullptr;
  std::atomic<std::int64_t> cost_pico{0};  // rendered as cost_usd_total{model}
  Histogram* ttft = nullptr;               // seconds
  Histogram* duration = nullptr;           // seconds
};

struct UpstreamMetrics {
  Counter* attempts = nullptr;
  Counter* successes = nullptr;
  CounterByEnum<backends::ErrorKind> failures;  // upstream_failures_total{model, upstream, kind}
};

struct GatewayMetrics {
  explicit GatewayMetrics(const GatewayConfig& config);

  MetricsRegistry registry;                           // every gateway series; Render() is /metrics
  std::vector<std::unique_ptr<ModelMetrics>> models;  // config.models order
  std::vector<std::unique_ptr<UpstreamMetrics>> upstreams;  // models' upstreams, flattened
  CounterByEnum<BadInput> bad_input;
  // [scope: 0 device, 1 fleet][phase: 0 before, 1 during]
  std::array<std::array<Counter*, 2>, 2> budget_refusals{};
  std::array<Counter*, 2> rate_limited{};  // [0 requests, 1 tokens] per minute
  Counter* retries = nullptr;
  Counter* retries_denied = nullptr;  // a retry the budget did not allow
  Counter* ledger_dropped = nullptr;
  std::array<Counter*, 2> connections{};  // [0 tls, 1 plaintext]
  Gauge* open_connections = nullptr;

  void CountBad(BadInput r) { bad_input.Add(r); }
};

// The name of a gateway series: "partita_gateway_" + name.
std::string GatewayMetricName(const char* name);

}  // namespace partita::cloud_gateway
