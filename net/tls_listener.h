// Accepts TLS 1.3 connections with mutual authentication and hands verified ones to a handler.
//
// The accept loop runs on one io_context; each accepted socket is placed on the next of the
// session io_contexts (one per I/O thread), round robin, where its handshake runs under a
// deadline. A connection whose handshake fails is closed, logged with the reason and counted in
// HandshakeStats by HandshakeFailure; the listener keeps accepting. Successful connections are
// passed, with the peer's verified identity, to the session handler as a new coroutine on the
// session's io_context.
// Threading: Start/Stop on the accept context's thread; stats are atomic and readable anywhere.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "net/asio.h"
#include "net/identity.h"
#include "net/tls.h"

namespace partita::net {

struct HandshakeStats {
  std::atomic<std::uint64_t> accepted{0};
  std::array<std::atomic<std::uint64_t>, kHandshakeFailureCount> failed{};  // by HandshakeFailure

  std::uint64_t Failed(HandshakeFailure reason) const {
    return failed[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }
  std::uint64_t TotalFailed() const;
};

struct TlsListenerOptions {
  tcp::endpoint endpoint;
  std::chrono::milliseconds handshake_timeout{5000};
  // Connections one identity may hold open at once; more are refused right after the handshake
  // (kTooManyConnections), so one certificate cannot hold a daemon's memory. 0 = no limit.
  std::size_t max_connections_per_identity = 0;
  std::string log_component = "listener";
  // Called (on a session thread) for every refused connection, after it is counted and logged.
  std::function<void(HandshakeFailure reason, const std::string& detail)> on_refused;
};

class TlsListener {
 public:
  using SessionHandler = std::function<asio::awaitable<void>(TlsStream stream, PeerIdentity peer)>;

  // Binds and listens. `session_contexts` must outlive the listener and be non-empty.
  static Result<std::unique_ptr<TlsListener>> Create(
      asio::io_context& accept_context, std::vector<asio::io_context*> session_contexts,
      TlsContextPtr tls, TlsListenerOptions options, SessionHandler handler);
  ~TlsListener();

  tcp::endpoint local_endpoint() const;
  void Start();
  // Stops accepting; established sessions are not affected.
  void Stop();

  const HandshakeStats& stats() const { return stats_; }

 private:
  TlsListener(asio::io_context& accept_context, std::vector<asio::io_context*> session_contexts,
              TlsContextPtr tls, TlsListenerOptions options, SessionHandler handler);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Handshake(tcp::socket socket);
  void Refuse(HandshakeFailure reason, const std::string& detail);

  asio::io_context& accept_context_;
  std::vector<asio::io_context*> session_contexts_;
  std::size_t next_context_ = 0;
  TlsContextPtr tls_;
  TlsListenerOptions options_;
  SessionHandler handler_;
  tcp::acceptor acceptor_;
  std::shared_ptr<std::atomic<bool>> stopped_;
  HandshakeStats stats_;
  // Open connections per identity URI (when options_.max_connections_per_identity > 0).
  struct IdentityCounts {
    std::mutex mu;
    std::unordered_map<std::string, std::size_t> open;  // guarded by mu
  };
  std::shared_ptr<IdentityCounts> counts_ = std::make_shared<IdentityCounts>();
};

// Connects to host:port, runs the TLS handshake (both under `timeout`) and verifies the server's
// identity. The returned stream has no timeout set.
asio::awaitable<Result<TlsStream>> ConnectTls(asio::any_io_executor executor, std::string host,
                                              std::uint16_t port, TlsContextPtr tls,
                                              std::chrono::milliseconds timeout);

// Splits "host:port" ("127.0.0.1:7443", "[::1]:7443", "router.local:7443").
Result<std::pair<std::string, std::uint16_t>> SplitHostPort(std::string_view address);

// "127.0.0.1:7443" or "[::1]:7443": the inverse of SplitHostPort, for log lines.
std::string EndpointText(const tcp::endpoint& endpoint);

// Parses "host:port" into an endpoint for listening (host must be an IP address).
Result<tcp::endpoint> ParseListenAddress(std::string_view address);

}  // namespace partita::net
