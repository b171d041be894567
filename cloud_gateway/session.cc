// Device sessions (TLS and plaintext fronts) and the forwarding of one chat request: the
// gateway's hot path. See gateway.h for what happens to a request and docs/gateway.md for the
// wire contract (status codes, error events).
#include <array>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <variant>

#include "backends/openai.h"
#include "cloud_gateway/gateway_core.h"
#include "common/log.h"
#include "http/parser.h"
#include "http/writer.h"
#include "net/plain_stream.h"

namespace partita::cloud_gateway {

using backends::ErrorKind;
using Clock = std::chrono::steady_clock;
using asio::awaitable;
using net::error_code;

namespace {

double MillisSince(Clock::time_point t0, Clock::time_point t1 = Clock::now()) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

std::string Usd(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, usd >= 0.01 ? "$%.2f" : "$%.6f", usd);
  return buf;
}

// Appends one SSE event carrying `data` as one chunk of a chunked body.
void AppendEventChunk(std::string& out, std::string_view data) {
  if (data.find('\n') == std::string_view::npos) {
    char digits[24];
    const int len = std::snprintf(digits, sizeof digits, "%zx\r\n", data.size() + 8);
    out.append(digits, static_cast<std::size_t>(len));
    out += "data: ";
    out += data;
    out += "\n\n\r\n";
    return;
  }
  std::string event;  // multi-line data: one "data:" line per line
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = data.find('\n', start);
    event += "data: ";
    event += data.substr(start, nl - start);
    event += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  event += '\n';
  http::AppendChunk(out, event);
}

// Appends one SSE event (not chunk-framed) to `out`.
void AppendEvent(std::string& out, std::string_view data) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = data.find('\n', start);
    out += "data: ";
    out += data.substr(start, nl - start);
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
}

// Writes to the device connection, whatever its transport.
class DeviceIo {
 public:
  virtual ~DeviceIo() = default;
  // Writes `a` then `b`; false when the device is gone or too slow.
  virtual awaitable<bool> Write(asio::const_buffer a, asio::const_buffer b = {}) = 0;
};

// One chat completion request, from the parsed body to the ledger row.
class Forwarder {
 public:
  Forwarder(Gateway::Core& core, Worker& worker, DeviceIo& io, std::string& out, bool keep_alive)
      : core_(core), worker_(worker), io_(io), out_(out), keep_alive_(keep_alive) {}

  // Returns whether the connection may serve another request.
  awaitable<bool> Run(std::string_view body, const std::string& device,
                      BudgetBook::Account& account);
  // The drain deadline passed: end the stream now.
  void Abort() {
    aborted_ = true;
    if (active_call_ != nullptr) active_call_->Cancel();
  }
  // The device closed its connection (or it failed) while this request was forwarded: the
  // upstream's work is cancelled, and nothing more is sent.
  void DeviceGone() {
    device_gone_ = true;
    if (active_call_ != nullptr) active_call_->Cancel();
  }

 private:
  enum class Step { kDone, kRetry };

  // How Admit() refused a request: the error sent, and whether the request was in flight.
  struct Refusal {
    int status = 0;
    std::string_view type;
    std::string_view code;
    std::string message;
    bool in_flight = false;
    int retry_after_s = 0;  // > 0: a Retry-After header
  };

  // Everything before the first upstream attempt; none of it waits. False: refused (refusal_).
  // Kept out of the coroutines, as are BodyFor() and Handle(), so their frames stay small
  // enough for Asio to recycle.
  bool Admit(std::string_view body, const std::string& device, BudgetBook::Account& account);
  void OrderUpstreams();
  // The body to send to `up`: the device's, or a rewritten copy kept in rewritten_.
  std::string_view BodyFor(const UpstreamRuntime& up, std::string_view body);
  // Not a coroutine: returns the coroutine that handles the call's outcome.
  awaitable<Step> Handle(backends::ChatCall& call, UpstreamRuntime& up);
  awaitable<Step> HandleFailure(backends::ChatCall& call, UpstreamRuntime& up);
  awaitable<Step> PassJson(backends::ChatCall& call, UpstreamRuntime& up);
  awaitable<Step> PassStream(backends::ChatCall& call, UpstreamRuntime& up);
  awaitable<bool> RespondAfterFailures(int attempts);
  awaitable<bool> SendError(int status, std::string_view type, std::string_view code,
                            std::string_view message, int retry_after_s = 0);
  awaitable<bool> WriteOut();
  void StartStreamHead(UpstreamRuntime& up, const backends::ChatCall& call);
  void UpstreamSucceeded(UpstreamRuntime& up);
  void UpstreamFailed(UpstreamRuntime& up, const backends::CallError& error);
  void Finish();

  Gateway::Core& core_;
  Worker& worker_;
  DeviceIo& io_;
  std::string& out_;
  bool keep_alive_;
  bool write_failed_ = false;
  bool aborted_ = false;
  bool device_gone_ = false;
  backends::ChatCall* active_call_ = nullptr;  // from the start of Start() to the outcome

  Clock::time_point t0_;
  ModelRuntime* model_ = nullptr;
  BudgetBook::Account* account_ = nullptr;
  LedgerEntry entry_;
  Outcome outcome_ = Outcome::kOk;
  bool costed_ = false;  // the request reached an upstream's answer: it costs tokens
  std::int64_t prompt_estimate_ = 0;
  std::int64_t reserved_tokens_ = 0;  // answer tokens reserved from the budget at admission
  std::int64_t cap_tokens_ = 0;       // > 0: the max_tokens sent upstream instead of the device's
  bool budget_capped_ = false;        // the budget, not the request or the model, set the cap
  RateLimiter::Buckets* rate_buckets_ = nullptr;  // the device's rate limits; null: none
  double rate_tokens_taken_ = 0;
  std::int64_t counted_completion_ = 0;
  std::optional<backends::Usage> usage_;
  PicoUsd charged_ = 0;
  std::optional<double> ttft_ms_;
  backends::CallError last_error_;
  Refusal refusal_;
  std::array<UpstreamRuntime*, kMaxUpstreamsPerModel> order_{};  // by priority, then turn
  std::size_t order_size_ = 0;
  std::string rewritten_;
};

awaitable<bool> Forwarder::SendError(int status, std::string_view type, std::string_view code,
                                     std::string_view message, int retry_after_s) {
  entry_.http_status = status;
  const std::string body = backends::ErrorJson(type, code, message);
  out_.clear();
  http::AppendStatusLine(out_, status, keep_alive_);
  http::AppendHeader(out_, "Content-Type", "application/json");
  if (retry_after_s > 0) http::AppendHeader(out_, "Retry-After", std::to_string(retry_after_s));
  http::EndHeadWithLength(out_, body.size());
  out_ += body;
  const bool ok = co_await WriteOut();
  co_return ok&& keep_alive_;
}

awaitable<bool> Forwarder::WriteOut() {
  if (out_.empty()) co_return !write_failed_;
  entry_.response_bytes += static_cast<std::int64_t>(out_.size());
  const bool ok = co_await io_.Write(asio::buffer(out_));
  out_.clear();
  if (!ok) write_failed_ = true;
  co_return ok;
}

void Forwarder::UpstreamSucceeded(UpstreamRuntime& up) {
  up.health.RecordSuccess(SteadyNow());
  core_.metrics.upstreams[up.index]->successes->Add();
}

void Forwarder::UpstreamFailed(UpstreamRuntime& up, const backends::CallError& error) {
  core_.metrics.upstreams[up.index]->failures.Add(error.kind);
  entry_.error_kind = backends::ErrorKindName(error.kind);
  if (up.health.RecordFailure(SteadyNow())) {
    LogWarn("gateway", "upstream '" + up.config->name + "' of model '" + model_->config->name +
                           "' ejected for " +
                           std::to_string(up.health.EjectedFor(SteadyNow()) / 1000000) +
                           " ms after " + std::to_string(core_.config->eject_after_failures) +
                           " consecutive failures (last: " + backends::ErrorKindName(error.kind) +
                           ": " + error.message + ")");
  }
}

void Forwarder::StartStreamHead(UpstreamRuntime& up, const backends::ChatCall& call) {
  entry_.http_status = 200;
  http::AppendStatusLine(out_, 200, keep_alive_);
  out_ += "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
  out_ += up.header_line;
  if (call.simulated()) out_ += "X-Partita-Simulated: 1\r\n";
  if (budget_capped_) {
    http::AppendHeader(out_, "X-Partita-Budget-Capped-Max-Tokens", std::to_string(cap_tokens_));
  }
  http::EndHeadChunked(out_);
}

bool Forwarder::Admit(std::string_view body, const std::string& device,
                      BudgetBook::Account& account) {
  t0_ = Clock::now();
  account_ = &account;
  entry_.started_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  entry_.day = UtcDay(entry_.started_unix_ms);
  entry_.request_bytes = static_cast<std::int64_t>(body.size());

  Result<backends::RequestInfo> info = backends::InspectChatRequest(body);
  if (!info.ok()) {
    core_.metrics.CountBad(BadInput::kMalformedJson);
    refusal_ = {400, "invalid_request_error", "invalid_request", info.status().message()};
    return false;
  }
  model_ = core_.FindModel(info->model);
  if (model_ == nullptr) {
    core_.metrics.CountBad(BadInput::kUnknownModel);
    std::string names;
    for (const ModelConfig& m : core_.config->models) names += (names.empty() ? "" : ", ") + m.name;
    refusal_ = {404, "invalid_request_error", "model_not_found",
                "model '" + info->model + "' is not served by this gateway; it serves: " + names};
    return false;
  }
  entry_.device = device;
  entry_.model = &model_->config->name;
  entry_.stream = info->stream;

  // Load shedding: the request counts as in flight from here to Finish().
  if (core_.in_flight.fetch_add(1, std::memory_order_relaxed) >= core_.config->capacity) {
    outcome_ = Outcome::kOverloaded;
    refusal_ = {503, "server_error", "overloaded",
                "the gateway is at capacity (" + std::to_string(core_.config->capacity) +
                    " requests in flight); retry shortly or use another tier",
                true};
    return false;
  }
  prompt_estimate_ = backends::EstimatePromptTokens(*info);
  // The answer's length: what the device asked for, at most the model's max_tokens (its
  // default when the device set none), and at most what the budget left affords. The prompt
  // and that many answer tokens are reserved now, atomically, so requests in flight together
  // never spend the same remainder twice; Finish() settles to what was used.
  const std::int64_t model_cap = model_->config->max_tokens;
  const std::int64_t wanted =
      info->max_tokens < 0 ? model_cap : std::min<std::int64_t>(info->max_tokens, model_cap);
  // The device's rate limits: one request, and the prompt plus the answer's length in tokens
  // (what is not used is given back in Finish()).
  if (core_.config->rate_limits.device.any() || !core_.config->rate_limits.devices.empty()) {
    rate_buckets_ = core_.rate_limiter.Find(device);
  }
  if (rate_buckets_ != nullptr) {
    const double tokens = static_cast<double>(prompt_estimate_ + wanted);
    const RateLimiter::Admission a = RateLimiter::Take(*rate_buckets_, tokens);
    if (a.verdict != RateLimiter::Verdict::kOk) {
      const bool requests = a.verdict == RateLimiter::Verdict::kRequests;
      core_.metrics.rate_limited[requests ? 0 : 1]->Add();
      outcome_ = Outcome::kRateLimited;
      const RateLimit& l = rate_buckets_->limit;
      char limit[64];
      std::snprintf(limit, sizeof limit, "%g %s per minute",
                    requests ? l.requests_per_minute : l.tokens_per_minute,
                    requests ? "requests" : "tokens");
      refusal_ = {429,
                  "partita_rate_limit",
                  "rate_limit_exceeded",
                  "device '" + device + "' is over its rate limit of " + limit +
                      "; retry after the time in Retry-After",
                  true,
                  std::max(1, static_cast<int>(std::ceil(a.retry_after_s)))};
      return false;
    }
    rate_tokens_taken_ = tokens;
  }
  const PicoUsd input_cost = prompt_estimate_ * model_->input_pico_per_token;
  const PicoUsd output_price = model_->output_pico_per_token;
  const BudgetBook::Reservation reserved =
      core_.budgets.Reserve(account, input_cost + output_price, output_price,
                            input_cost + wanted * output_price, entry_.day);
  if (reserved.verdict != BudgetVerdict::kOk) {
    const bool device_scope = reserved.verdict == BudgetVerdict::kDeviceExhausted;
    core_.metrics.budget_refusals[device_scope ? 0 : 1][0]->Add();
    outcome_ = Outcome::kBudgetRefused;
    refusal_ = {429, "partita_budget", "budget_exceeded",
                device_scope
                    ? "device '" + device + "' has spent its budget of " +
                          Usd(ToUsd(account.limit)) + " for today (UTC); it resets at 00:00 UTC"
                    : "the fleet has spent its budget of " +
                          Usd(ToUsd(core_.budgets.fleet_limit())) +
                          " for today (UTC); it resets at 00:00 UTC",
                true};
    return false;
  }
  // Durable before the first byte goes upstream: a killed gateway settles it at restart.
  entry_.reservation_id = core_.ledger->NextId();
  entry_.journal_slot = core_.journal->Claim(entry_.reservation_id, core_.ledger->written_rowid(),
                                             entry_.day, reserved.amount, entry_.started_unix_ms,
                                             device, model_->config->name, info->stream);
  if (entry_.journal_slot == ReservationJournal::kNoSlot) {
    core_.budgets.Charge(account, -reserved.amount, entry_.day);
    outcome_ = Outcome::kOverloaded;
    refusal_ = {503, "server_error", "overloaded",
                "the gateway has " + std::to_string(core_.journal->slots()) +
                    " reservations open; retry shortly or use another tier",
                true};
    return false;
  }
  charged_ = reserved.amount;
  reserved_tokens_ =
      output_price > 0 ? std::max<PicoUsd>(0, reserved.amount - input_cost) / output_price : wanted;
  budget_capped_ = reserved_tokens_ < wanted;
  // The upstream is told the limit whenever it is not the device's own.
  if (info->max_tokens < 0 || reserved_tokens_ < info->max_tokens) cap_tokens_ = reserved_tokens_;
  core_.retry.RequestStarted();
  OrderUpstreams();
  return true;
}

// Upstreams by priority; equal priorities take turns.
void Forwarder::OrderUpstreams() {
  const auto& ups = model_->upstreams;
  const std::uint64_t turn =
      ups.size() > 1 ? model_->round_robin.fetch_add(1, std::memory_order_relaxed) : 0;
  order_size_ = 0;
  for (std::size_t i = 0; i < ups.size();) {
    std::size_t j = i;
    while (j < ups.size() && ups[j]->config->priority == ups[i]->config->priority) ++j;
    const std::size_t len = j - i;
    for (std::size_t k = 0; k < len; ++k) order_[order_size_++] = ups[i + (turn + k) % len].get();
    i = j;
  }
}

std::string_view Forwarder::BodyFor(const UpstreamRuntime& up, std::string_view body) {
  std::string_view send = body;
  if (!up.rewritten_model.empty()) {
    Result<std::string> r = backends::ReplaceModel(body, up.rewritten_model);
    if (r.ok()) {
      rewritten_ = std::move(*r);
      send = rewritten_;
    }
  }
  if (cap_tokens_ > 0) {
    Result<std::string> r = backends::CapMaxTokens(send, cap_tokens_);
    if (r.ok()) {
      rewritten_ = std::move(*r);
      send = rewritten_;
    }
  }
  return send;
}

awaitable<bool> Forwarder::Run(std::string_view body, const std::string& device,
                               BudgetBook::Account& account) {
  if (!Admit(body, device, account)) {
    const bool go_on = co_await SendError(refusal_.status, refusal_.type, refusal_.code,
                                          refusal_.message, refusal_.retry_after_s);
    if (refusal_.in_flight) Finish();
    co_return go_on;
  }
  int attempts = 0;
  bool responded = false;
  for (std::size_t i = 0; i < order_size_ && !responded && !aborted_ && !device_gone_; ++i) {
    UpstreamRuntime& up = *order_[i];
    const SteadyNanos now =
        attempts == 0 ? std::chrono::nanoseconds(t0_.time_since_epoch()).count() : SteadyNow();
    if (!up.health.Available(now)) continue;
    bool retry_slot = false;
    if (attempts > 0) {
      if (!core_.retry.TryStartRetry()) {
        core_.metrics.retries_denied->Add();
        break;
      }
      retry_slot = true;
      core_.metrics.retries->Add();
    }
    ++attempts;
    entry_.upstream = &up.config->name;
    core_.metrics.upstreams[up.index]->attempts->Add();
    std::unique_ptr<backends::ChatCall> call = co_await worker_.clients[up.index]->Start(
        BodyFor(up, body), entry_.stream, core_.timeouts, {}, &active_call_);
    const Step step = co_await Handle(*call, up);
    active_call_ = nullptr;
    if (retry_slot) core_.retry.RetryFinished();
    responded = step == Step::kDone;
  }
  entry_.attempts = attempts;
  bool go_on = !write_failed_ && keep_alive_;
  if (device_gone_) {
    outcome_ = Outcome::kClientGone;
    go_on = false;
  } else if (!responded) {
    go_on = co_await RespondAfterFailures(attempts);
  }
  core_.retry.RequestFinished();
  Finish();
  co_return go_on;
}

awaitable<bool> Forwarder::RespondAfterFailures(int attempts) {
  const std::string& model = model_->config->name;
  if (aborted_) {
    outcome_ = Outcome::kShutdown;
    co_return co_await SendError(503, "server_error", "gateway_shutdown",
                                 "the gateway is shutting down; retry on another tier");
  }
  if (attempts == 0) {
    outcome_ = Outcome::kNoUpstream;
    co_return co_await SendError(503, "server_error", "no_healthy_upstream",
                                 "every upstream of model '" + model +
                                     "' is ejected after repeated failures; retry later or use "
                                     "another tier");
  }
  outcome_ = Outcome::kUpstreamError;
  const backends::CallError& e = last_error_;
  int status = 502;
  std::string code = "upstream_bad_response";
  switch (e.kind) {
    case ErrorKind::kErrorStatus:
    case ErrorKind::kBudget:
      status = e.http_status >= 400 ? e.http_status : 502;
      code = "upstream_error";
      break;
    case ErrorKind::kRefused: code = "upstream_unavailable"; break;
    case ErrorKind::kNoFirstToken:
    case ErrorKind::kDeadline:
      status = 504;
      code = "upstream_timeout";
      break;
    default: break;
  }
  co_return co_await SendError(
      status, "partita_upstream", code,
      "model '" + model + "' failed before the first token after " + std::to_string(attempts) +
          " attempt(s); last: " + backends::ErrorKindName(e.kind) + ": " + e.message);
}

awaitable<Forwarder::Step> Forwarder::Handle(backends::ChatCall& call, UpstreamRuntime& up) {
  if (!call.ok()) return HandleFailure(call, up);
  return call.streaming() ? PassStream(call, up) : PassJson(call, up);
}

awaitable<Forwarder::Step> Forwarder::HandleFailure(backends::ChatCall& call, UpstreamRuntime& up) {
  const backends::CallError& e = call.error();
  if (device_gone_) co_return Step::kDone;  // cancelled for the device: not the upstream's fault
  const bool device_fault = e.kind == ErrorKind::kErrorStatus && e.http_status >= 400 &&
                            e.http_status < 500 && e.http_status != 408 && e.http_status != 429;
  if (device_fault) {
    // The upstream refused the request itself: no retry, and the upstream is healthy.
    UpstreamSucceeded(up);
    outcome_ = Outcome::kBadRequest;
    entry_.error_kind = backends::ErrorKindName(e.kind);
    co_await SendError(e.http_status, "invalid_request_error",
                       e.code.empty() ? "upstream_rejected" : e.code,
                       "upstream '" + up.config->name + "' refused the request: " + e.message);
    co_return Step::kDone;
  }
  UpstreamFailed(up, e);
  last_error_ = e;
  co_return Step::kRetry;
}

awaitable<Forwarder::Step> Forwarder::PassJson(backends::ChatCall& call, UpstreamRuntime& up) {
  UpstreamSucceeded(up);
  costed_ = true;
  usage_ = call.stats().usage;
  counted_completion_ = static_cast<std::int64_t>((call.completion().content.size() + 3) / 4);
  ttft_ms_ = MillisSince(t0_);
  const std::string body = call.TakeBody();
  entry_.http_status = 200;
  out_.clear();
  http::AppendStatusLine(out_, 200, keep_alive_);
  http::AppendHeader(out_, "Content-Type", "application/json");
  out_ += up.header_line;
  if (call.simulated()) out_ += "X-Partita-Simulated: 1\r\n";
  if (budget_capped_) {
    http::AppendHeader(out_, "X-Partita-Budget-Capped-Max-Tokens", std::to_string(cap_tokens_));
  }
  http::EndHeadWithLength(out_, body.size());
  entry_.response_bytes += static_cast<std::int64_t>(out_.size() + body.size());
  const bool ok = co_await io_.Write(asio::buffer(out_), asio::buffer(body));
  out_.clear();
  if (!ok) write_failed_ = true;
  outcome_ = ok ? Outcome::kOk : Outcome::kClientGone;
  co_return Step::kDone;
}

awaitable<Forwarder::Step> Forwarder::PassStream(backends::ChatCall& call, UpstreamRuntime& up) {
  // Events before the first token (a role-only chunk) wait in `pending` so that a failure
  // before the first token can still be retried on another upstream.
  std::string pending;
  bool sent_head = false;
  out_.clear();
  for (;;) {
    if (aborted_) call.Cancel();  // the drain deadline passed while this call was starting
    const backends::StreamChunk* chunk = co_await call.Next();
    if (chunk == nullptr) break;
    const backends::ChunkInfo& info = *chunk->info;
    if (!info.content.empty()) {
      ++counted_completion_;
      costed_ = true;
      // The reservation covers the answer's max_tokens. An upstream that goes past it (it
      // ignored max_tokens, or packs several tokens in an event) is charged per event beyond,
      // and cut when the budget is crossed: that event is not forwarded.
      BudgetVerdict v = BudgetVerdict::kOk;
      if (counted_completion_ > reserved_tokens_) {
        v = core_.budgets.Charge(*account_, model_->output_pico_per_token, entry_.day);
        charged_ += model_->output_pico_per_token;
      }
      if (v != BudgetVerdict::kOk) {
        const bool device_scope = v == BudgetVerdict::kDeviceExhausted;
        core_.metrics.budget_refusals[device_scope ? 0 : 1][1]->Add();
        UpstreamSucceeded(up);
        outcome_ = Outcome::kBudgetExceeded;
        if (!sent_head) {
          StartStreamHead(up, call);
          http::AppendChunk(out_, pending);
        }
        const std::string message =
            device_scope
                ? "device '" + entry_.device + "' reached its budget of " +
                      Usd(ToUsd(account_->limit)) + " for today (UTC) during this answer"
                : "the fleet reached its budget of " + Usd(ToUsd(core_.budgets.fleet_limit())) +
                      " for today (UTC) during this answer";
        http::AppendChunk(out_, backends::ErrorEvent("partita_budget", "budget_exceeded", message));
        out_ += http::kLastChunk;
        co_await WriteOut();
        co_return Step::kDone;
      }
    }
    if (!sent_head) {
      AppendEvent(pending, chunk->data);
      if (!chunk->first_token && !info.done && pending.size() < 64 * 1024) continue;
      StartStreamHead(up, call);
      http::AppendChunk(out_, pending);
      sent_head = true;
      if (chunk->first_token) ttft_ms_ = MillisSince(t0_);
    } else {
      AppendEventChunk(out_, chunk->data);
    }
    if (!call.buffered() && !co_await WriteOut()) {
      outcome_ = Outcome::kClientGone;
      co_return Step::kDone;
    }
  }
  usage_ = call.stats().usage;
  if (call.ok()) {
    UpstreamSucceeded(up);
    if (!sent_head) {
      costed_ = true;
      StartStreamHead(up, call);
      http::AppendChunk(out_, pending);
    }
    out_ += http::kLastChunk;
    outcome_ = co_await WriteOut() ? Outcome::kOk : Outcome::kClientGone;
    co_return Step::kDone;
  }
  const backends::CallError& e = call.error();
  if (device_gone_) {
    outcome_ = Outcome::kClientGone;
    co_return Step::kDone;
  }
  if (!sent_head && !aborted_) {
    UpstreamFailed(up, e);
    last_error_ = e;
    co_return Step::kRetry;
  }
  std::string event;
  if (aborted_) {
    outcome_ = Outcome::kShutdown;
    event = backends::ErrorEvent("partita_shutdown", "gateway_shutdown",
                                 "the gateway is shutting down; the answer was cut");
  } else {
    UpstreamFailed(up, e);
    outcome_ = Outcome::kUpstreamFailed;
    event =
        backends::ErrorEvent("partita_upstream", "upstream_failed",
                             "upstream '" + up.config->name + "' failed after the first token (" +
                                 backends::ErrorKindName(e.kind) + "); the answer is incomplete");
  }
  if (!sent_head) {
    StartStreamHead(up, call);
    http::AppendChunk(out_, pending);
  }
  http::AppendChunk(out_, event);
  out_ += http::kLastChunk;
  co_await WriteOut();
  co_return Step::kDone;
}

// Reconciles the cost, updates metrics and budgets, writes the ledger row.
void Forwarder::Finish() {
  core_.RequestEnded();
  const double total_ms = MillisSince(t0_);
  const bool from_upstream = usage_.has_value() && outcome_ == Outcome::kOk;
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
  if (from_upstream) {
    prompt = usage_->prompt_tokens;
    completion = usage_->completion_tokens;
  } else if (costed_) {
    prompt = prompt_estimate_;
    completion = counted_completion_;
  }
  const PicoUsd cost =
      prompt * model_->input_pico_per_token + completion * model_->output_pico_per_token;
  if (rate_buckets_ != nullptr && rate_tokens_taken_ > 0) {
    RateLimiter::GiveBack(*rate_buckets_,
                          rate_tokens_taken_ - static_cast<double>(prompt + completion));
  }
  if (cost != charged_) core_.budgets.Charge(*account_, cost - charged_, entry_.day);
  if (outcome_ == Outcome::kOk && write_failed_) outcome_ = Outcome::kClientGone;

  ModelMetrics& mm = *core_.metrics.models[model_->index];
  mm.outcomes.Add(outcome_);
  mm.tokens_in->Add(static_cast<std::uint64_t>(prompt));
  mm.tokens_out->Add(static_cast<std::uint64_t>(completion));
  mm.cost_pico.fetch_add(cost, std::memory_order_relaxed);
  if (ttft_ms_) mm.ttft->Observe(*ttft_ms_ / 1000.0);
  mm.duration->Observe(total_ms / 1000.0);

  entry_.outcome = OutcomeName(outcome_);
  entry_.prompt_tokens = prompt;
  entry_.completion_tokens = completion;
  entry_.usage_from_upstream = from_upstream;
  if (usage_) {
    entry_.upstream_prompt_tokens = usage_->prompt_tokens;
    entry_.upstream_completion_tokens = usage_->completion_tokens;
  }
  entry_.counted_prompt_tokens = prompt_estimate_;
  entry_.counted_completion_tokens = counted_completion_;
  entry_.cost_usd = ToUsd(cost);
  entry_.ttft_ms = ttft_ms_;
  entry_.total_ms = total_ms;
  if (core_.observer.request_done) {
    core_.RecordLedger(worker_, entry_);
    core_.observer.request_done(entry_);
  } else {
    core_.RecordLedger(worker_, std::move(entry_));
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions

bool IsQuietClose(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

// Reads are asked for this much room at least; a typical request arrives in one read.
constexpr std::size_t kReadChunk = 8192;

template <typename Stream>
class Session final : public SessionBase, public DeviceIo {
 public:
  // TLS front: `peer` is the verified identity. Plaintext front: nullopt.
  template <typename... StreamArgs>
  Session(Gateway::Core& core, Worker& worker, std::optional<net::PeerIdentity> peer,
          StreamArgs&&... stream)
      : core_(core),
        worker_(worker),
        stream_(std::forward<StreamArgs>(stream)...),
        peer_(std::move(peer)) {
    worker_.Add(this);
    core_.metrics.connections[peer_ ? 0 : 1]->Add();
    core_.metrics.open_connections->Add(1);
  }
  ~Session() override {
    worker_.Remove(this);
    core_.metrics.open_connections->Add(-1);
  }

  void CloseIfIdle() override {
    if (idle_) net::Cancel(stream_);
  }
  void AbortStream() override {
    if (forwarder_) forwarder_->Abort();
  }

  awaitable<bool> Write(asio::const_buffer a, asio::const_buffer b) override {
    const std::array<asio::const_buffer, 2> buffers{a, b};
    net::PendingWrite write = net::TryWrite(stream_, buffers);
    error_code ec = write.error();
    if (write.pending()) {
      ec = co_await net::FinishWrite(stream_, Clock::now() + core_.config->client_write_timeout,
                                     write);
    }
    if (ec == net::beast::error::timeout) core_.metrics.CountBad(BadInput::kClientTimeout);
    co_return !ec;
  }

  awaitable<void> Run() {
    while (!core_.draining.load(std::memory_order_relaxed) && co_await ServeOne()) {
    }
    error_code ignored;
    net::Socket(stream_).shutdown(net::tcp::socket::shutdown_both, ignored);
    net::Socket(stream_).close(ignored);
  }

 private:
  // Reads one request and answers it. Returns whether the connection may serve another.
  awaitable<bool> ServeOne() {
    const GatewayConfig& cfg = *core_.config;
    // The head, within the idle timeout: the connection is idle until it is complete.
    // Idle until a head's first byte; then the rest of it comes within the head timeout.
    idle_ = true;
    net::SteadyTime head_deadline = Clock::now() + cfg.client_idle_timeout;
    bool head_started = false;
    std::string error;
    http::Parse parsed;
    while ((parsed = http::ParseRequestHead(in_.data(), head_, &error)) ==
           http::Parse::kIncomplete) {
      if (in_.size() >= cfg.max_header_bytes) break;
      if (!head_started && !in_.empty()) {
        head_started = true;
        head_deadline = std::min(head_deadline, Clock::now() + cfg.client_head_timeout);
      }
      if (!co_await Receive(head_deadline, kReadChunk)) co_return false;
    }
    idle_ = false;
    if (parsed == http::Parse::kError) {
      core_.metrics.CountBad(BadInput::kBadHttp);
      LogWarn("gateway", "malformed HTTP request from " +
                             (peer_ ? peer_->Uri() : std::string("the plaintext front")) + ": " +
                             error);
      co_await SendError(400, "bad_http", "malformed HTTP request: " + error);
      co_return false;
    }
    if (parsed == http::Parse::kIncomplete || head_.size > cfg.max_header_bytes) {
      core_.metrics.CountBad(BadInput::kHeadersTooLarge);
      co_await SendError(
          431, "headers_too_large",
          "request headers are larger than " + std::to_string(cfg.max_header_bytes) + " bytes");
      co_return false;
    }
    if (head_.content_length > cfg.max_body_bytes) co_return co_await BodyTooLarge();
    if (head_.expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!co_await Write(asio::buffer(kContinue.data(), kContinue.size()), {})) co_return false;
    }

    // The body, within the read timeout (from when it is first waited for).
    net::SteadyTime body_deadline = net::SteadyTime::min();
    std::string_view body;
    std::size_t message_size = head_.size;
    if (head_.chunked) {
      // Decoded into chunked_body_; the head stays in the buffer (the route reads it), and the
      // chunks leave it as they are decoded, so what the framing adds (extensions, trailers)
      // cannot grow it.
      chunked_.Reset();
      chunked_body_.clear();
      for (;;) {
        std::size_t used = 0;
        const auto r = chunked_.Decode(in_.data().substr(head_.size), chunked_body_, used);
        in_.Erase(head_.size, used);
        if (chunked_body_.size() > cfg.max_body_bytes) co_return co_await BodyTooLarge();
        if (r == http::ChunkedDecoder::Result::kDone) break;
        if (r == http::ChunkedDecoder::Result::kError) {
          core_.metrics.CountBad(BadInput::kBadHttp);
          co_await SendError(400, "bad_http", "malformed HTTP request: " + chunked_.error());
          co_return false;
        }
        if (body_deadline == net::SteadyTime::min()) {
          body_deadline = Clock::now() + cfg.client_read_timeout;
        }
        // Not in a coroutine of its own: GCC 12 miscompiled that one (docs/architecture.md).
        if (!co_await Receive(body_deadline, kReadChunk, true)) co_return false;
        RefreshHead();
      }
      body = chunked_body_;
    } else {
      const std::size_t length = static_cast<std::size_t>(head_.content_length);
      while (in_.size() < head_.size + length) {
        const std::size_t missing = head_.size + length - in_.size();
        if (body_deadline == net::SteadyTime::min()) {
          body_deadline = Clock::now() + cfg.client_read_timeout;
        }
        if (!co_await Receive(body_deadline, std::max(missing, kReadChunk), true)) co_return false;
        RefreshHead();
      }
      body = in_.data().substr(head_.size, length);
      message_size += length;
    }
    const bool keep_alive = head_.keep_alive && !core_.draining.load(std::memory_order_relaxed);
    bool go_on = co_await Route(keep_alive, body);
    if (watching_) {
      // The cancelled read's handler was queued by StopWatch(): yield until it has run.
      StopWatch();
      while (watching_) co_await asio::post(asio::use_awaitable);
    }
    forwarder_.reset();
    in_.Consume(message_size);
    if (!early_.empty()) {  // what the device sent while this request was forwarded
      const std::span<char> space = in_.Prepare(early_.size());
      std::memcpy(space.data(), early_.data(), early_.size());
      in_.Commit(early_.size());
      early_.clear();
    }
    if (device_gone_) go_on = false;
    co_return go_on&& keep_alive;
  }

  // Reads more of the request into in_. False when the connection failed or timed out (a
  // timeout in the middle of a request is counted).
  awaitable<bool> Receive(net::SteadyTime deadline, std::size_t room, bool mid_request = false) {
    const std::span<char> space = in_.Prepare(room);
    auto [ec, n] =
        co_await net::ReadSome(stream_, deadline, asio::buffer(space.data(), space.size()));
    if (!ec) {
      in_.Commit(n);
      co_return true;
    }
    if (ec == net::beast::error::timeout && (mid_request || !in_.empty())) {
      core_.metrics.CountBad(BadInput::kClientTimeout);
    } else if (!IsQuietClose(ec) && ec != net::beast::error::timeout) {
      LogWarn("gateway", "reading a request from " +
                             (peer_ ? peer_->Uri() : std::string("the plaintext front")) +
                             " failed: " + ec.message());
    }
    co_return false;
  }

  // After a read of the body: the read may have moved the buffered bytes, so head_'s views are
  // taken again from where the head now is.
  void RefreshHead() { http::ParseRequestHead(in_.data(), head_); }

  awaitable<bool> BodyTooLarge() {
    core_.metrics.CountBad(BadInput::kOversizeBody);
    co_await SendError(413, "request_too_large",
                       "request body is larger than " +
                           std::to_string(core_.config->max_body_bytes) +
                           " bytes (max_body_bytes)");
    co_return false;
  }

  awaitable<bool> SendError(int status, std::string_view code, std::string message,
                            bool keep_alive = false,
                            std::string_view type = "invalid_request_error") {
    out_ = http::MakeResponse(status, "application/json", backends::ErrorJson(type, code, message),
                              keep_alive);
    const bool ok = co_await Write(asio::buffer(out_), {});
    co_return ok&& keep_alive;
  }

  awaitable<bool> SendJson(int status, std::string body, bool keep_alive) {
    out_ = http::MakeResponse(status, "application/json", body, keep_alive);
    const bool ok = co_await Write(asio::buffer(out_), {});
    co_return ok&& keep_alive;
  }

  // Why a request has no device to act for: what the device is told and how it is counted.
  struct Refusal {
    int status;
    std::string_view code;
    std::string message;
    std::string_view type;
    BadInput reason;
  };

  // The device this request is for: the certificate's on the TLS front; X-Partita-Device or
  // the configured id on the plaintext front. Revoked devices are refused on both.
  std::variant<std::string, Refusal> ResolveDevice() const {
    std::string device;
    if (peer_) {
      if (peer_->kind != net::PeerKind::kDevice) {
        return Refusal{
            403, "forbidden",
            "only device certificates may request completions; this connection is " + peer_->Uri(),
            "permission_error", BadInput::kForbidden};
      }
      device = peer_->id;
    } else if (const std::string_view id = head_.Find("X-Partita-Device"); !id.empty()) {
      if (!net::IsValidIdentityName(id)) {
        return Refusal{400, "bad_device_id",
                       "X-Partita-Device must be a device id ([A-Za-z0-9._-], 1 to 64)",
                       "invalid_request_error", BadInput::kNoIdentity};
      }
      device = std::string(id);
    } else if (core_.config->plaintext && !core_.config->plaintext->device.empty()) {
      device = core_.config->plaintext->device;
    } else {
      return Refusal{401, "no_identity",
                     "the plaintext front needs an X-Partita-Device header (or plaintext.device "
                     "in gateway.yaml)",
                     "authentication_error", BadInput::kNoIdentity};
    }
    if (core_.revoked.Contains(device)) {
      return Refusal{403, "device_revoked", "device '" + device + "' is revoked",
                     "permission_error", BadInput::kRevoked};
    }
    return device;
  }

  BudgetBook::Account& AccountFor(const std::string& device) {
    if (account_ == nullptr || account_->device != device) account_ = core_.budgets.Find(device);
    return *account_;
  }

  // Route() and ServeChat() are not coroutines: each returns the coroutine that answers, so a
  // request nests no frame for them.
  awaitable<bool> Route(bool keep_alive, std::string_view body) {
    std::string_view target = head_.target;
    target = target.substr(0, target.find('?'));
    const std::string_view method = head_.method;
    // A revoked device certificate gets nothing, not even health or the model list.
    if (peer_ && peer_->kind == net::PeerKind::kDevice && core_.revoked.Contains(peer_->id)) {
      core_.metrics.CountBad(BadInput::kRevoked);
      return SendError(403, "device_revoked", "device '" + peer_->id + "' is revoked", keep_alive,
                       "permission_error");
    }
    if (target == "/v1/chat/completions") {
      if (method != "POST") {
        core_.metrics.CountBad(BadInput::kMethod);
        return SendError(405, "method_not_allowed", "use POST for /v1/chat/completions",
                         keep_alive);
      }
      return ServeChat(keep_alive, body);
    }
    if (target == "/v1/partita/health" || target == "/health") {
      if (method != "GET") {
        core_.metrics.CountBad(BadInput::kMethod);
        return SendError(405, "method_not_allowed", "use GET", keep_alive);
      }
      const GatewayHealth h = core_.Health();
      return SendJson(h.healthy ? 200 : 503, core_.HealthJson(), keep_alive);
    }
    if (target == "/v1/models") {
      if (method != "GET") {
        core_.metrics.CountBad(BadInput::kMethod);
        return SendError(405, "method_not_allowed", "use GET", keep_alive);
      }
      return SendJson(200, core_.models_json, keep_alive);
    }
    core_.metrics.CountBad(BadInput::kNotFound);
    return SendError(404, "not_found",
                     "unknown path; the gateway serves POST /v1/chat/completions, "
                     "GET /v1/models and GET /v1/partita/health",
                     keep_alive);
  }

  // A chat completion for the device this request acts for, or the refusal of it, counted.
  awaitable<bool> ServeChat(bool keep_alive, std::string_view body) {
    std::variant<std::string, Refusal> resolved = ResolveDevice();
    if (Refusal* r = std::get_if<Refusal>(&resolved)) {
      core_.metrics.CountBad(r->reason);
      return SendError(r->status, r->code, std::move(r->message), keep_alive, r->type);
    }
    device_ = std::move(std::get<std::string>(resolved));
    Forwarder& forwarder = forwarder_.emplace(core_, worker_, *this, out_, keep_alive);
    StartWatch();
    return forwarder.Run(body, device_, AccountFor(device_));
  }

  // While a chat request is forwarded, a read waits on the device's connection: bytes that
  // arrive (a pipelined request) are kept in early_ for the next request, and the end of the
  // connection cancels the upstream's work. A callback, not a coroutine: a request pays no
  // frame for it. ServeOne() stops it and waits for its handler before the next request.
  void StartWatch() {
    watching_ = true;
    watch_stopping_ = false;
    net::StartReadSome(stream_, asio::buffer(watch_buf_),
                       [this](error_code ec, std::size_t n) { OnWatchRead(ec, n); });
  }
  void StopWatch() {
    watch_stopping_ = true;
    net::Cancel(stream_);
  }
  void OnWatchRead(const error_code& ec, std::size_t n) {
    if (!ec && n > 0) {
      early_.append(watch_buf_.data(), n);
      if (!watch_stopping_ && early_.size() < kMaxEarlyBytes) {
        net::StartReadSome(stream_, asio::buffer(watch_buf_),
                           [this](error_code e, std::size_t m) { OnWatchRead(e, m); });
        return;
      }
    } else if (!watch_stopping_ && ec != asio::error::operation_aborted) {
      device_gone_ = true;  // closed, reset or failed: nobody is there to answer
      if (forwarder_) forwarder_->DeviceGone();
    }
    watching_ = false;
  }
  // Pipelined bytes kept while a request is forwarded; past this the watch stops reading.
  static constexpr std::size_t kMaxEarlyBytes = 64 * 1024;

  Gateway::Core& core_;
  Worker& worker_;
  Stream stream_;
  std::optional<net::PeerIdentity> peer_;
  http::ReadBuffer in_;
  http::RequestHead head_;  // points into in_ while a request is served
  http::ChunkedDecoder chunked_;
  std::string chunked_body_;
  std::string out_;
  bool idle_ = false;
  std::string device_;                  // the device of the request being served
  std::optional<Forwarder> forwarder_;  // the chat completion being served
  BudgetBook::Account* account_ = nullptr;
  bool watching_ = false;        // a watch read is pending (or its handler has not run)
  bool watch_stopping_ = false;  // StopWatch() cancelled it
  bool device_gone_ = false;     // the watch saw the connection end
  std::array<char, 512> watch_buf_;
  std::string early_;
};

}  // namespace

awaitable<void> ServeTlsSession(Gateway::Core& core, net::TlsStream stream,
                                net::PeerIdentity peer) {
  Worker* worker = CurrentWorker();
  Session<net::TlsStream> session(core, *worker, std::move(peer), std::move(stream));
  co_await session.Run();
}

awaitable<void> ServePlaintextSession(Gateway::Core& core, net::tcp::socket socket) {
  Worker* worker = CurrentWorker();
  Session<net::PlainStream> session(core, *worker, std::nullopt, std::move(socket));
  co_await session.Run();
}

}  // namespace partita::cloud_gateway
