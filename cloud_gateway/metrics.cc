#include "cloud_gateway/metrics.h"

#include <cstdio>

#include "cloud_gateway/budget.h"
#include "net/tls.h"

namespace partita::cloud_gateway {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kBadRequest: return "bad_request";
    case Outcome::kBudgetRefused: return "budget_refused";
    case Outcome::kBudgetExceeded: return "budget_exceeded";
    case Outcome::kUpstreamError: return "upstream_error";
    case Outcome::kUpstreamFailed: return "upstream_failed";
    case Outcome::kNoUpstream: return "no_upstream";
    case Outcome::kOverloaded: return "overloaded";
    case Outcome::kClientGone: return "client_gone";
    case Outcome::kShutdown: return "shutdown";
    case Outcome::kRateLimited: return "rate_limited";
    case Outcome::kCount: break;
  }
  return "unknown";
}

const char* BadInputName(BadInput reason) {
  switch (reason) {
    case BadInput::kMalformedJson: return "malformed_json";
    case BadInput::kOversizeBody: return "oversize_body";
    case BadInput::kHeadersTooLarge: return "headers_too_large";
    case BadInput::kBadHttp: return "bad_http";
    case BadInput::kUnknownModel: return "unknown_model";
    case BadInput::kNoIdentity: return "no_identity";
    case BadInput::kRevoked: return "revoked";
    case BadInput::kForbidden: return "forbidden";
    case BadInput::kNotFound: return "not_found";
    case BadInput::kMethod: return "method_not_allowed";
    case BadInput::kClientTimeout: return "client_timeout";
    case BadInput::kCount: break;
  }
  return "unknown";
}

std::string GatewayMetricName(const char* name) { return std::string("partita_gateway_") + name; }

namespace {

// Request phases are short: 1 ms to 2 minutes.
const std::vector<double>& LatencyBounds() {
  static const std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,      2.5,   5,    10,    30,   60,  120};
  return bounds;
}

}  // namespace

GatewayMetrics::GatewayMetrics(const GatewayConfig& config) {
  MetricsRegistry& r = registry;
  auto name = GatewayMetricName;
  for (const ModelConfig& m : config.models) {
    auto mm = std::make_unique<ModelMetrics>();
    const std::vector<std::pair<std::string, std::string>> model = {{"model", m.name}};
    mm->outcomes = CounterByEnum<Outcome>(r, name("requests_total"),
                                          "Chat completion requests by model and outcome.",
                                          "outcome", OutcomeName, model);
    const char* tokens_help =
        "Tokens metered (the figures costs were computed from), by direction.";
    mm->tokens_in = r.LabeledCounter(name("tokens_total"), tokens_help,
                                     {{"model", m.name}, {"direction", "in"}});
    mm->tokens_out = r.LabeledCounter(name("tokens_total"), tokens_help,
                                      {{"model", m.name}, {"direction", "out"}});
    ModelMetrics* raw = mm.get();
    r.AddCallbackCounter(
        name("cost_usd_total"), "Metered cost in USD.",
        [raw] { return ToUsd(raw->cost_pico.load(std::memory_order_relaxed)); }, model);
    mm->ttft = r.LabeledHistogram(name("ttft_seconds"),
                                  "Time from the request to the first token sent to the device.",
                                  model, LatencyBounds());
    mm->duration = r.LabeledHistogram(name("request_duration_seconds"),
                                      "Time from the request to the end of the response.", model,
                                      LatencyBounds());
    for (const UpstreamConfig& up : m.upstreams) {
      auto um = std::make_unique<UpstreamMetrics>();
      const std::vector<std::pair<std::string, std::string>> labels = {{"model", m.name},
                                                                       {"upstream", up.name}};
      um->attempts = r.LabeledCounter(name("upstream_attempts_total"),
                                      "Attempts sent to each upstream.", labels);
      um->successes = r.LabeledCounter(name("upstream_successes_total"),
                                       "Attempts that got an answer from the upstream.", labels);
      um->failures = CounterByEnum<backends::ErrorKind>(
          r, name("upstream_failures_total"),
          "Upstream failures by kind (refused, error_status, no_first_token, stalled, ...).",
          "kind", backends::ErrorKindName, labels, backends::ErrorKind::kRefused);
      upstreams.push_back(std::move(um));
    }
    models.push_back(std::move(mm));
  }
  bad_input = CounterByEnum<BadInput>(r, name("bad_requests_total"),
                                      "Bad input refused, by reason.", "reason", BadInputName);
  const char* scopes[] = {"device", "fleet"};
  const char* phases[] = {"before", "during"};
  for (int sc = 0; sc < 2; ++sc) {
    for (int ph = 0; ph < 2; ++ph) {
      budget_refusals[sc][ph] =
          r.LabeledCounter(name("budget_refusals_total"),
                           "Requests refused (phase=before) or cut (phase=during) by a budget.",
                           {{"scope", scopes[sc]}, {"phase", phases[ph]}});
    }
  }
  const char* rate_help =
      "Requests refused with 429 by a device's rate limit, by the limit that was reached.";
  rate_limited[0] =
      r.LabeledCounter(name("rate_limited_total"), rate_help, {{"limit", "requests_per_minute"}});
  rate_limited[1] =
      r.LabeledCounter(name("rate_limited_total"), rate_help, {{"limit", "tokens_per_minute"}});
  retries =
      r.AddCounter(name("retries_total"), "Retries on another upstream before the first token.");
  retries_denied =
      r.AddCounter(name("retries_denied_total"), "Retries the retry budget did not allow.");
  ledger_dropped = r.AddCounter(name("ledger_dropped_total"),
                                "Ledger rows dropped because the writer queue was full.");
  const char* connections_help = "Device connections accepted, by front.";
  connections[0] =
      r.LabeledCounter(name("connections_total"), connections_help, {{"front", "tls"}});
  connections[1] =
      r.LabeledCounter(name("connections_total"), connections_help, {{"front", "plaintext"}});
  open_connections = r.AddGauge(name("open_connections"), "Device connections open now.");
}

}  // namespace partita::cloud_gateway
