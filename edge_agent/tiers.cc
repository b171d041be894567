#include "edge_agent/tiers.h"

#include <algorithm>

#include "backends/openai.h"
#include "net/framed_connection.h"
#include "net/identity.h"
#include "net/tls_listener.h"
#include "proto/convert.h"

namespace partita::agent {

namespace {

std::uint32_t Millis(Clock::duration d) {
  return static_cast<std::uint32_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

// The first-token limit of an attempt: the tier's own timeout, or less when the request's
// deadline comes first (then a miss is a deadline, not a slow tier).
std::pair<std::chrono::milliseconds, bool> FirstTokenLimit(const TierRequest& r) {
  if (!r.deadline_applies) return {r.ttft_timeout, false};
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.first_token_by - Clock::now());
  if (left < r.ttft_timeout) return {std::max(left, std::chrono::milliseconds(1)), true};
  return {r.ttft_timeout, false};
}

v1::AttemptResult FromBackendError(const backends::CallError& e, bool deadline_bound) {
  using backends::ErrorKind;
  switch (e.kind) {
    case ErrorKind::kNone: return v1::ATTEMPT_OK;
    case ErrorKind::kRefused: return v1::ATTEMPT_REFUSED;
    case ErrorKind::kErrorStatus: return v1::ATTEMPT_ERROR_STATUS;
    case ErrorKind::kNoFirstToken:
      return deadline_bound ? v1::ATTEMPT_DEADLINE : v1::ATTEMPT_NO_FIRST_TOKEN;
    case ErrorKind::kStalled: return v1::ATTEMPT_STALLED;
    case ErrorKind::kDeadline: return v1::ATTEMPT_DEADLINE;
    case ErrorKind::kBudget: return v1::ATTEMPT_BUDGET;
    case ErrorKind::kStreamError:
    case ErrorKind::kDisconnected:
      return e.after_first_token ? v1::ATTEMPT_BROKEN : v1::ATTEMPT_ERROR_STATUS;
    case ErrorKind::kMalformed: return v1::ATTEMPT_ERROR_STATUS;
    case ErrorKind::kInvalid:
    case ErrorKind::kCount: return v1::ATTEMPT_UNAVAILABLE;
  }
  return v1::ATTEMPT_ERROR_STATUS;
}

}  // namespace

std::string ChatBody(const TierRequest& request, const std::string& model) {
  backends::ChatParams p;
  p.model = model;
  p.stream = true;
  p.messages.push_back({"user", request.prompt});
  if (!request.partial_answer.empty()) {
    // Another tier failed mid-answer: this one continues from what the app already has.
    p.messages.push_back({"assistant", request.partial_answer});
    p.messages.push_back(
        {"user", "Continue your previous answer exactly where it stopped, without repeating it."});
  }
  if (request.max_tokens > 0) p.max_tokens = request.max_tokens;
  return backends::BuildChatRequestBody(p);
}

Result<std::unique_ptr<RuntimeTier>> RuntimeTier::Create(asio::any_io_executor executor,
                                                         const RuntimeEndpoint& endpoint,
                                                         net::TlsContextPtr tls) {
  backends::ClientConfig config;
  config.url = endpoint.url;
  config.api_key = endpoint.api_key;
  config.tls = std::move(tls);
  Result<std::unique_ptr<backends::ChatClient>> client =
      backends::ChatClient::Create(executor, std::move(config));
  if (!client.ok()) return client.status();
  return std::unique_ptr<RuntimeTier>(new RuntimeTier(endpoint, std::move(*client)));
}

asio::awaitable<TierResult> RuntimeTier::Run(const TierRequest& request, const v1::Route& route,
                                             const ChunkFn& on_chunk) {
  TierResult r;
  r.model = route.model();
  const std::string model = endpoint_.model.empty() ? route.model() : endpoint_.model;
  const std::string body = ChatBody(request, model);
  const auto [first_token, deadline_bound] = FirstTokenLimit(request);
  backends::Timeouts timeouts;
  timeouts.connect = std::min(first_token, std::chrono::milliseconds(3000));
  timeouts.first_token = first_token;
  timeouts.between_chunks = request.stall_timeout;
  timeouts.total = std::chrono::minutes(10);
  const auto start = Clock::now();
  backends::ChatOutcome out =
      co_await backends::Complete(*client_, body, true, timeouts, [&](std::string_view text) {
        r.text.append(text);
        if (on_chunk) on_chunk(text);
      });
  r.elapsed_ms = Millis(Clock::now() - start);
  if (out.ttft.count() >= 0) r.ttft_ms = static_cast<std::uint32_t>(out.ttft.count() / 1000);
  r.simulated = out.simulated;
  if (out.usage) {
    r.tokens_in = static_cast<std::uint32_t>(out.usage->prompt_tokens);
    r.tokens_out = static_cast<std::uint32_t>(out.usage->completion_tokens);
  } else {
    r.tokens_out = static_cast<std::uint32_t>(out.content_chunks);
  }
  r.result = FromBackendError(out.error, deadline_bound);
  if (out.ttft.count() >= 0 && on_ran_) on_ran_(route.model());
  if (!out.ok()) {
    r.detail = out.error.message;
    if (out.error.http_status > 0 &&
        r.detail.find(std::to_string(out.error.http_status)) == std::string::npos) {
      r.detail = "HTTP " + std::to_string(out.error.http_status) + ": " + r.detail;
    }
  }
  co_return r;
}

asio::awaitable<TierResult> PhoneTier::Run(const TierRequest& request, const v1::Route& route,
                                           const ChunkFn& on_chunk) {
  TierResult r;
  r.model = route.model();
  const auto start = Clock::now();
  auto finish = [&](v1::AttemptResult result, std::string detail) {
    r.result = result;
    r.detail = std::move(detail);
    r.elapsed_ms = Millis(Clock::now() - start);
    return r;
  };
  if (route.endpoint().empty()) {
    co_return finish(v1::ATTEMPT_UNAVAILABLE, "no household phone is reachable");
  }
  Result<std::pair<std::string, std::uint16_t>> hp = net::SplitHostPort(route.endpoint());
  if (!hp.ok()) co_return finish(v1::ATTEMPT_UNAVAILABLE, hp.status().message());
  const auto [first_token, deadline_bound] = FirstTokenLimit(request);
  Result<net::TlsStream> stream =
      co_await net::ConnectTls(executor_, hp->first, hp->second, tls_, first_token);
  if (!stream.ok()) {
    co_return finish(stream.status().code() == StatusCode::kDeadlineExceeded
                         ? (deadline_bound ? v1::ATTEMPT_DEADLINE : v1::ATTEMPT_NO_FIRST_TOKEN)
                         : v1::ATTEMPT_REFUSED,
                     stream.status().message());
  }
  // The phone must be the device the router named.
  Result<net::PeerIdentity> peer =
      net::PeerIdentityOf(stream->native_handle(), net::PeerRole::kServer);
  if (!peer.ok() || peer->kind != net::PeerKind::kDevice ||
      (!route.target_device_id().empty() && peer->id != route.target_device_id())) {
    co_return finish(v1::ATTEMPT_REFUSED, "the phone at " + route.endpoint() + " is not '" +
                                              route.target_device_id() + "'");
  }
  net::FramedConnectionOptions fo;
  fo.idle_timeout = first_token;
  auto conn = std::make_shared<net::FramedConnection<net::TlsStream>>(std::move(*stream), fo);
  conn->Start();
  v1::Envelope offload;
  v1::OffloadRequest* o = offload.mutable_offload_request();
  o->set_prompt(request.prompt);
  o->set_model(route.model());
  o->set_max_tokens(request.max_tokens);
  o->set_deadline_ms(first_token.count() > 0 ? static_cast<std::uint32_t>(first_token.count()) : 0);
  o->set_partial_answer(request.partial_answer);
  conn->Send(offload);
  bool got_first = false;
  for (;;) {
    v1::Envelope in;
    const net::error_code ec = co_await conn->Read(in);
    if (ec) {
      conn->Close("phone read ended");
      if (ec == asio::error::timed_out) {
        co_return finish(
            got_first ? v1::ATTEMPT_STALLED
                      : (deadline_bound ? v1::ATTEMPT_DEADLINE : v1::ATTEMPT_NO_FIRST_TOKEN),
            got_first ? "the phone stopped streaming" : "no first token from the phone");
      }
      co_return finish(got_first ? v1::ATTEMPT_BROKEN : v1::ATTEMPT_REFUSED,
                       "phone connection ended: " + ec.message());
    }
    if (in.has_offload_reply()) {
      if (!in.offload_reply().accepted()) {
        conn->Close("declined");
        co_return finish(v1::ATTEMPT_DECLINED, "phone declined: " + in.offload_reply().reason());
      }
      continue;
    }
    if (in.has_ask_chunk()) {
      if (!got_first) {
        got_first = true;
        r.ttft_ms = Millis(Clock::now() - start);
        conn->SetIdleTimeout(request.stall_timeout);
      }
      r.text += in.ask_chunk().text();
      if (on_chunk) on_chunk(in.ask_chunk().text());
      continue;
    }
    if (in.has_ask_result()) {
      const v1::AskResult& res = in.ask_result();
      conn->Close("done");
      r.tokens_in = res.tokens_in();
      r.tokens_out = res.tokens_out();
      r.energy_j = res.energy_j();
      r.simulated = res.simulated();
      if (!res.model().empty()) r.model = res.model();
      if (res.ok()) co_return finish(v1::ATTEMPT_OK, "");
      co_return finish(got_first ? v1::ATTEMPT_BROKEN : v1::ATTEMPT_ERROR_STATUS,
                       "phone failed: " + res.error().message());
    }
  }
}

}  // namespace partita::agent
