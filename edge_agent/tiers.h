// Running one attempt of a request on one tier, for the agent's fallback walk (ask.h):
//   RuntimeTier  an OpenAI-compatible endpoint: the device's local runtime (tier device) or
//                Partita's cloud gateway over HTTPS with the device certificate (tier cloud)
//   PhoneTier    the household phone's agent, over TLS 1.3 with mutual authentication
// Each streams text to a callback and ends with a TierResult that says why it ended, in the
// vocabulary of the wire schema's AttemptResult, so the agent knows whether to fall back.
// Threading: on the agent's io_context thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "backends/chat_client.h"
#include "edge_agent/config.h"
#include "net/asio.h"
#include "net/tls.h"
#include "proto/partita.pb.h"

namespace partita::agent {

using Clock = std::chrono::steady_clock;

struct TierRequest {
  std::string prompt;          // never logged or stored
  std::string partial_answer;  // text a failed tier already produced: continue from it
  std::string model;           // catalog model name
  std::uint32_t max_tokens = 0;
  Clock::time_point first_token_by;  // the request's deadline for its first token
  bool deadline_applies = true;      // false once the app has seen a first token
  std::chrono::milliseconds ttft_timeout{4000};
  std::chrono::milliseconds stall_timeout{2000};
};

struct TierResult {
  v1::AttemptResult result = v1::ATTEMPT_UNAVAILABLE;
  std::string detail;         // human-readable reason, never prompt text
  std::string text;           // what this attempt produced
  std::string model;          // the model that answered
  std::uint32_t ttft_ms = 0;  // 0 = no token arrived
  std::uint32_t elapsed_ms = 0;
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;
  double energy_j = 0;  // reported by a phone for its own compute
  bool simulated = false;
  bool ok() const { return result == v1::ATTEMPT_OK; }
};

using ChunkFn = std::function<void(std::string_view text)>;

class TierRunner {
 public:
  virtual ~TierRunner() = default;
  virtual asio::awaitable<TierResult> Run(const TierRequest& request, const v1::Route& route,
                                          const ChunkFn& on_chunk) = 0;
};

// The OpenAI-compatible chat messages for a request (with the continuation when partial).
std::string ChatBody(const TierRequest& request, const std::string& model);

class RuntimeTier : public TierRunner {
 public:
  // `tls`: a client context for https endpoints (the device certificate, accepting a gateway);
  // null for plain http.
  static Result<std::unique_ptr<RuntimeTier>> Create(asio::any_io_executor executor,
                                                     const RuntimeEndpoint& endpoint,
                                                     net::TlsContextPtr tls);
  asio::awaitable<TierResult> Run(const TierRequest& request, const v1::Route& route,
                                  const ChunkFn& on_chunk) override;
  // Called with the catalog model's name after the runtime produced tokens with it (the agent
  // tracks which models are loaded: warm).
  void set_on_ran(std::function<void(const std::string& model)> fn) { on_ran_ = std::move(fn); }

 private:
  RuntimeTier(RuntimeEndpoint endpoint, std::unique_ptr<backends::ChatClient> client)
      : endpoint_(std::move(endpoint)), client_(std::move(client)) {}
  RuntimeEndpoint endpoint_;
  std::unique_ptr<backends::ChatClient> client_;
  std::function<void(const std::string& model)> on_ran_;
};

class PhoneTier : public TierRunner {
 public:
  // `tls`: the device certificate, accepting another device (the phone).
  PhoneTier(asio::any_io_executor executor, net::TlsContextPtr tls)
      : executor_(executor), tls_(std::move(tls)) {}
  asio::awaitable<TierResult> Run(const TierRequest& request, const v1::Route& route,
                                  const ChunkFn& on_chunk) override;

 private:
  asio::any_io_executor executor_;
  net::TlsContextPtr tls_;
};

}  // namespace partita::agent
