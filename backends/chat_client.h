// An OpenAI-compatible /v1/chat/completions client over HTTP/1.1 (plain TCP or TLS) with a
// keep-alive connection pool, streaming Server-Sent Events and per-phase timeouts.
//
// Every model runtime is reached through it: llama.cpp's server, Ollama, vLLM, SGLang, hosted
// APIs, a local `partita modeld`, and Partita's own cloud gateway (HTTPS with the device's
// certificate). Failures are values: a CallError whose ErrorKind a caller maps to a fallback
// trigger (refused, error status, no first token, stalled, deadline, budget, stream error,
// disconnected, malformed).
//
// Two levels:
//   * Complete(): one call, text deltas through a callback, a ChatOutcome at the end.
//   * ChatClient::Start() + ChatCall::Next(): pull one SSE event at a time. Nothing is read from
//     the server until the caller asks for the next event, so a caller that forwards events to a
//     slow consumer applies backpressure (the gateway does this); buffering is bounded by the
//     read buffer and SseLimits.
//
// Threading: a ChatClient and its ChatCalls belong to the executor (io_context thread) given to
// Create(); use them only from coroutines on it. A ChatCall must not outlive its ChatClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/openai.h"
#include "backends/sse_parser.h"
#include "common/status.h"
#include "http/parser.h"
#include "net/asio.h"
#include "net/tls.h"

namespace partita::backends {

namespace asio = net::asio;

enum class ErrorKind : std::uint8_t {
  kNone = 0,
  kRefused,       // no connection, or it closed before any response (down, refused, reset,
                  // connect timeout): nothing was generated, retrying elsewhere is safe
  kErrorStatus,   // the server answered a non-2xx status (http_status, code, message)
  kNoFirstToken,  // no content token within Timeouts::first_token
  kStalled,       // after the first token, no event within Timeouts::between_chunks
  kDeadline,      // the whole exchange exceeded Timeouts::total
  kBudget,        // Partita's gateway refused (429) or cut the stream for budget
                  // (code "budget_exceeded", see docs/gateway.md)
  kStreamError,   // the server ended the stream with an error event (code says which)
  kDisconnected,  // the connection closed in the middle of the response
  kMalformed,     // not valid HTTP/SSE/JSON, or a stream that ended without [DONE] or a
                  // finish reason
  kInvalid,       // the request could not be made (bad URL, bad header, TLS setup)
  kCount,         // the number of kinds (sizes per-kind counters), not a kind
};

// "refused", "error_status", "no_first_token", "stalled", "deadline", "budget",
// "stream_error", "disconnected", "malformed", "invalid" ("none" for kNone).
const char* ErrorKindName(ErrorKind kind);

struct CallError {
  ErrorKind kind = ErrorKind::kNone;
  int http_status = 0;             // for kErrorStatus and kBudget (429); 0 otherwise
  std::string code;                // the server's error code ("budget_exceeded", "upstream_failed")
  std::string message;             // one line for logs and users; never contains prompt text
  bool after_first_token = false;  // some content had already been delivered
};

struct Timeouts {
  std::chrono::milliseconds connect{3000};          // TCP connect + TLS handshake
  std::chrono::milliseconds first_token{30000};     // start to the first content token
  std::chrono::milliseconds between_chunks{10000};  // gap between events after the first token
  std::chrono::milliseconds total{120000};          // the whole exchange
};

struct ClientConfig {
  // Base URL ending in /v1 ("http://127.0.0.1:8080/v1"), or the full endpoint
  // ("https://gw:7443/v1/chat/completions"). http and https only.
  std::string url;
  // Sent as "Authorization: Bearer <api_key>" when not empty.
  std::string api_key;
  // Extra headers on every request (name, value); no CR or LF allowed.
  std::vector<std::pair<std::string, std::string>> headers;
  // https: the TLS context to use. Partita's mutual-auth contexts (net/tls.h) verify the peer's
  // identity themselves. nullptr: a public context (system CAs) is made, with host name checks.
  net::TlsContextPtr tls;
  // Check the server certificate's host name against the URL's (always on for the public
  // context; off by default with a Partita context, whose identity check replaces it).
  bool verify_host_name = false;
  std::size_t max_idle_connections = 64;          // pooled keep-alive connections kept
  std::chrono::milliseconds idle_timeout{30000};  // a pooled connection older is not reused
  std::size_t max_response_bytes = 8u << 20;      // non-streaming bodies and error bodies
  SseLimits sse_limits;
};

// Whether `url` is an endpoint the client can call (http:// or https://, a host, an optional
// port, a path without query or fragment); the error says what is wrong.
Status CheckEndpointUrl(std::string_view url);

// A public TLS 1.2+ client context with the system CA store (or `ca_file` when not empty).
Result<net::TlsContextPtr> MakePublicTlsContext(const std::string& ca_file = "");

// One event of a streaming response; valid until the next ChatCall::Next().
struct StreamChunk {
  std::string_view data;            // the event's data as sent ("{...}" or "[DONE]")
  const ChunkInfo* info = nullptr;  // the data interpreted
  bool first_token = false;         // this chunk carried the response's first content
};

struct CallStats {
  std::chrono::microseconds ttft{-1};    // to the first content token; -1 when none arrived
                                         // (non-streaming: the time to the complete body)
  std::chrono::microseconds elapsed{0};  // start to the end of the response (or the error)
  std::int64_t content_chunks = 0;       // events that carried content: the counted tokens
  std::optional<Usage> usage;            // the server's usage object, when it sent one
  std::string finish_reason;
  std::string model;  // "model" as the server reported it
  bool reused_connection = false;
};

class ChatClient;

// One request/response exchange. Created by ChatClient::Start().
class ChatCall {
 public:
  ~ChatCall();
  ChatCall(const ChatCall&) = delete;
  ChatCall& operator=(const ChatCall&) = delete;

  bool ok() const { return error_.kind == ErrorKind::kNone; }
  const CallError& error() const { return error_; }
  int http_status() const { return status_; }
  // The response is an event stream (read it with Next()); otherwise body() holds it.
  bool streaming() const { return streaming_; }
  // A response header ("" when absent).
  std::string_view header(std::string_view name) const;
  // The server marked the response simulated (X-Partita-Simulated: 1).
  bool simulated() const { return simulated_; }

  // Streaming: the next data event ([DONE] included), or nullptr at the end of the stream or on
  // an error (then error() says what happened). Reads from the network only when no complete
  // event is buffered.
  asio::awaitable<const StreamChunk*> Next();
  // Next() can return an event without reading the network.
  bool buffered() const;
  // The stream or body is complete, or failed.
  bool finished() const { return finished_; }

  // Non-streaming: the complete body, and what it says (content, usage, finish reason).
  const std::string& body() const { return body_; }
  std::string TakeBody() { return std::move(body_); }
  const CompletionInfo& completion() const { return completion_; }

  const CallStats& stats() const { return stats_; }

  // Ends the exchange from another coroutine on the same executor, also while Start() runs: a
  // pending or later Next() returns nullptr, and Start() returns, with kDisconnected
  // ("cancelled"). The connection is not reused. A call already finished is left as it is.
  void Cancel();

 private:
  friend class ChatClient;
  struct Impl;
  explicit ChatCall(ChatClient& client);
  void Fail(ErrorKind kind, std::string message);
  void Finish();

  ChatClient& client_;
  std::unique_ptr<Impl> impl_;
  CallError error_;
  int status_ = 0;
  bool streaming_ = false;
  bool simulated_ = false;
  bool finished_ = false;
  bool done_seen_ = false;
  bool cancelled_ = false;
  std::string body_;
  CompletionInfo completion_;
  CallStats stats_;
};

struct ClientStats {
  std::uint64_t requests = 0;
  std::uint64_t connects = 0;       // new connections opened
  std::uint64_t reused = 0;         // requests sent on a pooled connection
  std::uint64_t stale_retries = 0;  // pooled connections found closed, request resent
};

class ChatClient {
 public:
  using Header = std::pair<std::string_view, std::string_view>;
  struct Connection;  // a pooled connection (opaque)

  static Result<std::unique_ptr<ChatClient>> Create(asio::any_io_executor executor,
                                                    ClientConfig config);
  ~ChatClient();
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;

  // Sends `body` (an OpenAI chat request, JSON, kept alive by the caller until this returns)
  // and waits for the response headers; a non-streaming response is read completely. `stream`
  // must match the body's "stream" field. Never returns null; check ok(). `in_progress`, when
  // given, points at the call while Start() runs (and is left pointing at it), so that another
  // coroutine can Cancel() it before it returns.
  asio::awaitable<std::unique_ptr<ChatCall>> Start(std::string_view body, bool stream,
                                                   const Timeouts& timeouts,
                                                   std::span<const Header> headers = {},
                                                   ChatCall** in_progress = nullptr);

  const ClientConfig& config() const { return config_; }
  // "host:port" of the server.
  const std::string& authority() const { return authority_; }
  std::size_t idle_connections() const;
  const ClientStats& stats() const { return stats_; }
  // Closes pooled connections (a server known to be down, or shutdown).
  void CloseIdle();

 private:
  friend class ChatCall;
  ChatClient(asio::any_io_executor executor, ClientConfig config);
  asio::awaitable<std::unique_ptr<Connection>> Connect(
      std::chrono::steady_clock::time_point deadline, CallError& error);
  void Release(std::unique_ptr<Connection> connection);

  // The steps of Start(); see chat_client.cc.
  enum class HeadNext : std::uint8_t { kErrorBody, kWholeBody, kDone };
  bool Prepare(ChatCall& call, std::size_t body_size, bool stream, const Timeouts& timeouts,
               std::span<const Header> headers);
  bool TakeIdle(ChatCall::Impl& im, std::chrono::steady_clock::time_point now);
  asio::awaitable<bool> SendAndReadHead(ChatCall& call, std::string_view body);
  static http::Parse ParseHead(ChatCall::Impl& im);
  void FailHeadRead(ChatCall& call, const boost::system::error_code& ec);
  HeadNext TakeHead(ChatCall& call);
  asio::awaitable<void> ReadErrorBody(ChatCall& call);
  void FailWithErrorBody(ChatCall& call, std::string_view error_body);
  asio::awaitable<void> ReadWholeBody(ChatCall& call);
  static void FinishCompletion(ChatCall& call);
  // Per-call state (with its read buffer) is reused across calls.
  std::unique_ptr<ChatCall::Impl> TakeImpl();
  void ReturnImpl(std::unique_ptr<ChatCall::Impl> impl);

  asio::any_io_executor executor_;
  ClientConfig config_;
  bool tls_ = false;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string authority_;
  std::string request_prefix_;  // request line and fixed headers
  std::vector<std::unique_ptr<Connection>> idle_;
  std::vector<std::unique_ptr<ChatCall::Impl>> spare_impls_;
  ClientStats stats_;
};

// The result of Complete(): text and figures, and the error if there was one (partial text and
// figures are kept on errors after the first token).
struct ChatOutcome {
  CallError error;
  int http_status = 0;
  std::string text;
  std::string finish_reason;
  std::optional<Usage> usage;
  std::chrono::microseconds ttft{-1};
  std::chrono::microseconds total{0};
  std::int64_t content_chunks = 0;
  std::string model;
  bool simulated = false;

  bool ok() const { return error.kind == ErrorKind::kNone; }
};

// Called with each piece of text as it arrives.
using DeltaCallback = std::function<void(std::string_view text)>;

// Sends a request and reads the whole response, streaming or not.
asio::awaitable<ChatOutcome> Complete(ChatClient& client, std::string_view body, bool stream,
                                      const Timeouts& timeouts, DeltaCallback on_delta = {});

}  // namespace partita::backends
