// The gateway's counters and latency histograms, rendered as Prometheus text on /metrics.
//
// Counters are relaxed atomics indexed by small enums and by the model/upstream positions of
// the config, so the hot path never hashes a label. Everything here is safe from any thread.
// Metric names and labels are listed in docs/gateway.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/chat_client.h"
#include "cloud_gateway/config.h"
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

class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  void Observe(double seconds);
  // Appends name_bucket/_sum/_count lines; `labels` is "" or `model="x"`.
  void Render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

struct ModelMetrics {
  std::string name;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Outcome::kCount)> outcomes{};
  std::atomic<std::uint64_t> tokens_in{0};
  std::atomic<std::uint64_t> tokens_out{0};
  std::atomic<std::int64_t> cost_pico{0};
  Histogram ttft;
  Histogram duration;
};

struct UpstreamMetrics {
  std::string model;
  std::string name;
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> successes{0};
  std::array<std::atomic<std::uint64_t>, 11> failures{};  // indexed by backends::ErrorKind
};

struct GatewayMetrics {
  explicit GatewayMetrics(const GatewayConfig& config);

  std::vector<ModelMetrics> models;        // config.models order
  std::vector<UpstreamMetrics> upstreams;  // models' upstreams, flattened in config order
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(BadInput::kCount)> bad_input{};
  // [scope: 0 device, 1 fleet][phase: 0 before, 1 during]
  std::array<std::array<std::atomic<std::uint64_t>, 2>, 2> budget_refusals{};
  std::array<std::atomic<std::uint64_t>, 2> rate_limited{};  // [0 requests, 1 tokens] per minute
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> retries_denied{0};  // a retry the budget did not allow
  std::atomic<std::uint64_t> ledger_dropped{0};
  std::array<std::atomic<std::uint64_t>, 2> connections{};  // [0 tls, 1 plaintext]
  std::atomic<std::int64_t> open_connections{0};

  void CountBad(BadInput r) {
    bad_input[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
};

// State that is not a counter, gathered by the gateway when /metrics is read.
struct MetricsSnapshot {
  std::int64_t in_flight = 0;
  std::int64_t capacity = 0;
  bool healthy = false;
  bool draining = false;
  double fleet_spent_usd = 0;
  double fleet_limit_usd = 0;  // 0: unlimited
  struct Upstream {
    std::uint64_t ejections = 0;
    bool ejected = false;
  };
  std::vector<Upstream> upstreams;  // same order as GatewayMetrics
  std::array<std::uint64_t, net::kHandshakeFailureCount> tls_refusals{};  // by HandshakeFailure
  std::uint64_t tls_accepted = 0;
  std::uint64_t ledger_failed_writes = 0;
};

// The Prometheus text exposition (version 0.0.4).
std::string RenderPrometheus(const GatewayMetrics& metrics, const MetricsSnapshot& snapshot);

}  // namespace partita::cloud_gateway
