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

void Histogram::Observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(seconds > 0 ? seconds * 1e6 : 0),
                    std::memory_order_relaxed);
}

namespace {

std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Labels(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

void Line(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " " + Num(value) + "\n";
}

void Help(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string Quoted(const std::string& key, const std::string& value) {
  std::string out = key + "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void Histogram::Render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < kBounds.size() ? Num(kBounds[i]) : "+Inf";
    Line(out, name + "_bucket", Labels(labels, "le=\"" + le + "\""),
         static_cast<double>(cumulative));
  }
  Line(out, name + "_sum", labels,
       static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  Line(out, name + "_count", labels, static_cast<double>(count_.load(std::memory_order_relaxed)));
}

GatewayMetrics::GatewayMetrics(const GatewayConfig& config) : models(config.models.size()) {
  std::size_t n = 0;
  for (const ModelConfig& m : config.models) n += m.upstreams.size();
  upstreams = std::vector<UpstreamMetrics>(n);
  std::size_t i = 0;
  std::size_t u = 0;
  for (const ModelConfig& m : config.models) {
    models[i++].name = m.name;
    for (const UpstreamConfig& up : m.upstreams) {
      upstreams[u].model = m.name;
      upstreams[u].name = up.name;
      ++u;
    }
  }
}

std::string RenderPrometheus(const GatewayMetrics& m, const MetricsSnapshot& s) {
  std::string out;
  out.reserve(16 << 10);
  const char* p = "partita_gateway_";
  auto name = [&](const char* n) { return std::string(p) + n; };

  Help(out, name("requests_total"), "counter", "Chat completion requests by model and outcome.");
  for (const ModelMetrics& mm : m.models) {
    for (std::size_t o = 0; o < mm.outcomes.size(); ++o) {
      Line(out, name("requests_total"),
           Quoted("model", mm.name) + "," + Quoted("outcome", OutcomeName(static_cast<Outcome>(o))),
           static_cast<double>(mm.outcomes[o].load(std::memory_order_relaxed)));
    }
  }
  Help(out, name("tokens_total"), "counter",
       "Tokens metered (the figures costs were computed from), by direction.");
  for (const ModelMetrics& mm : m.models) {
    Line(out, name("tokens_total"), Quoted("model", mm.name) + ",direction=\"in\"",
         static_cast<double>(mm.tokens_in.load(std::memory_order_relaxed)));
    Line(out, name("tokens_total"), Quoted("model", mm.name) + ",direction=\"out\"",
         static_cast<double>(mm.tokens_out.load(std::memory_order_relaxed)));
  }
  Help(out, name("cost_usd_total"), "counter", "Metered cost in USD.");
  for (const ModelMetrics& mm : m.models) {
    Line(out, name("cost_usd_total"), Quoted("model", mm.name),
         ToUsd(mm.cost_pico.load(std::memory_order_relaxed)));
  }
  Help(out, name("ttft_seconds"), "histogram",
       "Time from the request to the first token sent to the device.");
  for (const ModelMetrics& mm : m.models)
    mm.ttft.Render(out, name("ttft_seconds"), Quoted("model", mm.name));
  Help(out, name("request_duration_seconds"), "histogram",
       "Time from the request to the end of the response.");
  for (const ModelMetrics& mm : m.models) {
    mm.duration.Render(out, name("request_duration_seconds"), Quoted("model", mm.name));
  }

  Help(out, name("upstream_attempts_total"), "counter", "Attempts sent to each upstream.");
  for (const UpstreamMetrics& u : m.upstreams) {
    Line(out, name("upstream_attempts_total"),
         Quoted("model", u.model) + "," + Quoted("upstream", u.name),
         static_cast<double>(u.attempts.load(std::memory_order_relaxed)));
  }
  Help(out, name("upstream_failures_total"), "counter",
       "Upstream failures by kind (refused, error_status, no_first_token, stalled, ...).");
  for (const UpstreamMetrics& u : m.upstreams) {
    for (std::size_t k = 1; k < u.failures.size(); ++k) {
      const std::uint64_t v = u.failures[k].load(std::memory_order_relaxed);
      if (v == 0) continue;
      Line(out, name("upstream_failures_total"),
           Quoted("model", u.model) + "," + Quoted("upstream", u.name) + "," +
               Quoted("kind", backends::ErrorKindName(static_cast<backends::ErrorKind>(k))),
           static_cast<double>(v));
    }
  }
  Help(out, name("upstream_ejections_total"), "counter",
       "Times an upstream was ejected by passive health checks.");
  for (std::size_t i = 0; i < m.upstreams.size(); ++i) {
    Line(out, name("upstream_ejections_total"),
         Quoted("model", m.upstreams[i].model) + "," + Quoted("upstream", m.upstreams[i].name),
         i < s.upstreams.size() ? static_cast<double>(s.upstreams[i].ejections) : 0);
  }
  Help(out, name("upstream_ejected"), "gauge", "1 while the upstream is ejected.");
  for (std::size_t i = 0; i < m.upstreams.size(); ++i) {
    Line(out, name("upstream_ejected"),
         Quoted("model", m.upstreams[i].model) + "," + Quoted("upstream", m.upstreams[i].name),
         i < s.upstreams.size() && s.upstreams[i].ejected ? 1 : 0);
  }
  Help(out, name("retries_total"), "counter",
       "Retries on another upstream before the first token.");
  Line(out, name("retries_total"), "", static_cast<double>(m.retries.load()));
  Help(out, name("retries_denied_total"), "counter", "Retries the retry budget did not allow.");
  Line(out, name("retries_denied_total"), "", static_cast<double>(m.retries_denied.load()));

  Help(out, name("budget_refusals_total"), "counter",
       "Requests refused (phase=before) or cut (phase=during) by a budget.");
  const char* scopes[] = {"device", "fleet"};
  const char* phases[] = {"before", "during"};
  for (int sc = 0; sc < 2; ++sc) {
    for (int ph = 0; ph < 2; ++ph) {
      Line(out, name("budget_refusals_total"),
           std::string("scope=\"") + scopes[sc] + "\",phase=\"" + phases[ph] + "\"",
           static_cast<double>(m.budget_refusals[sc][ph].load()));
    }
  }
  Help(out, name("rate_limited_total"), "counter",
       "Requests refused with 429 by a device's rate limit, by the limit that was reached.");
  Line(out, name("rate_limited_total"), "limit=\"requests_per_minute\"",
       static_cast<double>(m.rate_limited[0].load()));
  Line(out, name("rate_limited_total"), "limit=\"tokens_per_minute\"",
       static_cast<double>(m.rate_limited[1].load()));
  Help(out, name("fleet_spent_usd"), "gauge", "Fleet spending today (UTC).");
  Line(out, name("fleet_spent_usd"), "", s.fleet_spent_usd);
  Help(out, name("fleet_budget_usd"), "gauge", "Fleet budget per day (0: unlimited).");
  Line(out, name("fleet_budget_usd"), "", s.fleet_limit_usd);

  Help(out, name("bad_requests_total"), "counter", "Bad input refused, by reason.");
  for (std::size_t r = 0; r < m.bad_input.size(); ++r) {
    Line(out, name("bad_requests_total"), Quoted("reason", BadInputName(static_cast<BadInput>(r))),
         static_cast<double>(m.bad_input[r].load()));
  }
  Help(out, name("tls_handshakes_total"), "counter", "TLS handshakes accepted.");
  Line(out, name("tls_handshakes_total"), "", static_cast<double>(s.tls_accepted));
  Help(out, name("tls_refusals_total"), "counter", "TLS connections refused, by reason.");
  for (std::size_t r = 0; r < s.tls_refusals.size(); ++r) {
    Line(out, name("tls_refusals_total"),
         Quoted("reason", net::HandshakeFailureLabel(static_cast<net::HandshakeFailure>(r))),
         static_cast<double>(s.tls_refusals[r]));
  }
  Help(out, name("connections_total"), "counter", "Device connections accepted, by front.");
  Line(out, name("connections_total"), "front=\"tls\"",
       static_cast<double>(m.connections[0].load()));
  Line(out, name("connections_total"), "front=\"plaintext\"",
       static_cast<double>(m.connections[1].load()));
  Help(out, name("open_connections"), "gauge", "Device connections open now.");
  Line(out, name("open_connections"), "", static_cast<double>(m.open_connections.load()));

  Help(out, name("in_flight"), "gauge", "Chat requests in progress.");
  Line(out, name("in_flight"), "", static_cast<double>(s.in_flight));
  Help(out, name("capacity"), "gauge", "In-flight requests at load 1.0.");
  Line(out, name("capacity"), "", static_cast<double>(s.capacity));
  Help(out, name("load"), "gauge", "in_flight / capacity (the router's fleet.cloud_load).");
  Line(out, name("load"), "",
       s.capacity > 0 ? static_cast<double>(s.in_flight) / static_cast<double>(s.capacity) : 0);
  Help(out, name("healthy"), "gauge", "1 when the gateway can serve (fleet.cloud_healthy).");
  Line(out, name("healthy"), "", s.healthy ? 1 : 0);
  Help(out, name("draining"), "gauge", "1 while draining for shutdown.");
  Line(out, name("draining"), "", s.draining ? 1 : 0);
  Help(out, name("ledger_dropped_total"), "counter",
       "Ledger rows dropped because the writer queue was full.");
  Line(out, name("ledger_dropped_total"), "", static_cast<double>(m.ledger_dropped.load()));
  Help(out, name("ledger_failed_writes_total"), "counter", "Ledger rows SQLite refused.");
  Line(out, name("ledger_failed_writes_total"), "", static_cast<double>(s.ledger_failed_writes));
  return out;
}

}  // namespace partita::cloud_gateway
