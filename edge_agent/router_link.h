// The agent's connection to the router: TLS 1.3 with the device certificate, Hello/Welcome,
// heartbeats, decisions with a deadline, outcomes kept until acknowledged, policy bundles, and
// reconnection with exponential backoff and jitter.
//
// Guarantees: an Outcome stays queued until the router Acks it (it is stored), and is resent
// after every reconnect, so nothing is lost across router restarts; a Decide() never waits
// past its timeout (the caller then decides offline). Threading: lives on one io_context; all
// methods must be called on that context's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "common/status.h"
#include "net/asio.h"
#include "net/framed_connection.h"
#include "net/tls.h"
#include "proto/partita.pb.h"

namespace partita::agent {

struct RouterLinkOptions {
  std::string host;
  std::uint16_t port = 0;
  net::TlsContextPtr tls;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds heartbeat_interval{5000};  // until the router's Welcome says otherwise
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{5000};
  // After the router says this device is revoked, it tries again this much later (jittered),
  // not every few seconds: an operator may un-revoke it, but it should not knock meanwhile.
  std::chrono::milliseconds revoked_retry{std::chrono::minutes(5)};
  std::size_t max_unacked_outcomes = 10000;
};

struct RouterLinkCallbacks {
  std::function<v1::Hello()> make_hello;           // identity, profile, state at connect
  std::function<v1::DeviceState()> current_state;  // for heartbeats
  std::function<void(const v1::PolicyBundle&)> on_policy;
  std::function<void(bool connected)> on_connection;
  std::function<void(std::size_t unacked)> on_ack;             // after an Outcome is acknowledged
  std::function<void(const v1::HouseholdView&)> on_household;  // the router's household view
};

class RouterLink : public std::enable_shared_from_this<RouterLink> {
 public:
  RouterLink(asio::any_io_executor executor, RouterLinkOptions options,
             RouterLinkCallbacks callbacks);

  void Start();
  void Stop();

  // Asks the router; the Decision, or an error when disconnected, refused, or not answered
  // within `timeout`.
  asio::awaitable<Result<v1::Decision>> Decide(v1::DecideRequest request,
                                               std::chrono::milliseconds timeout);
  // Queues an outcome until the router acknowledges it.
  void ReportOutcome(v1::Outcome outcome);
  // Waits until every queued outcome is acknowledged, the connection is lost, or `deadline`.
  // True when none is left unacknowledged. One waiter at a time (the agent's shutdown).
  asio::awaitable<bool> WaitAcked(std::chrono::steady_clock::time_point deadline);
  // Sends a heartbeat now (significant state change).
  void HeartbeatNow();

  bool connected() const { return connected_; }
  double rtt_ms() const { return rtt_ms_; }
  std::size_t unacked_outcomes() const { return unacked_.size(); }
  std::uint64_t reconnects() const { return reconnects_; }
  // The router refused this device as revoked, and it has not been welcomed since. Any thread.
  bool revoked() const { return revoked_.load(); }

 private:
  struct Pending {
    explicit Pending(asio::any_io_executor ex) : wake(ex) {}
    asio::steady_timer wake;
    std::optional<Result<v1::Decision>> result;
  };
  using Connection = net::FramedConnection<net::TlsStream>;

  asio::awaitable<void> ConnectLoop();
  asio::awaitable<void> Session(std::shared_ptr<Connection> conn);
  asio::awaitable<void> HeartbeatLoop(std::shared_ptr<Connection> conn);
  void SendHeartbeat();
  void FailPending(const std::string& why);
  std::chrono::milliseconds NextBackoff();
  std::chrono::milliseconds RevokedBackoff();

  asio::any_io_executor executor_;
  RouterLinkOptions options_;
  RouterLinkCallbacks callbacks_;
  std::shared_ptr<Connection> conn_;
  bool connected_ = false;
  std::atomic<bool> revoked_{false};
  std::string last_failure_;  // why the last connect failed; "" once connected
  bool stopped_ = false;
  std::chrono::milliseconds heartbeat_interval_;
  std::chrono::milliseconds backoff_{0};
  std::mt19937_64 jitter_;
  std::uint64_t heartbeat_seq_ = 0;
  std::uint64_t reconnects_ = 0;
  double rtt_ms_ = 0;
  std::uint64_t ping_nonce_ = 0;
  std::chrono::steady_clock::time_point ping_sent_{};
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::deque<v1::Outcome> unacked_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer ack_wake_;  // cancelled on every Ack and when the connection ends
};

}  // namespace partita::agent
