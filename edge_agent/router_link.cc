#include "edge_agent/router_link.h"

#include <algorithm>

#include "common/log.h"
#include "net/tls_listener.h"

namespace partita::agent {

namespace {
constexpr const char* kLog = "agent";
}  // namespace

RouterLink::RouterLink(asio::any_io_executor executor, RouterLinkOptions options,
                       RouterLinkCallbacks callbacks)
    : executor_(executor),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      heartbeat_interval_(options_.heartbeat_interval),
      jitter_(std::random_device{}()),
      reconnect_timer_(executor),
      heartbeat_timer_(executor),
      ack_wake_(executor) {}

void RouterLink::Start() {
  asio::co_spawn(
      executor_, [self = shared_from_this()] { return self->ConnectLoop(); }, asio::detached);
}

void RouterLink::Stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  heartbeat_timer_.cancel();
  ack_wake_.cancel();
  if (conn_) conn_->Close("agent stopping");
  FailPending("agent stopping");
}

std::chrono::milliseconds RouterLink::NextBackoff() {
  // Exponential backoff with full jitter: a random wait in [min, current], current doubling.
  backoff_ =
      backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
  std::uniform_int_distribution<std::int64_t> pick(
      options_.backoff_min.count(), std::max(options_.backoff_min.count(), backoff_.count()));
  return std::chrono::milliseconds(pick(jitter_));
}

std::chrono::milliseconds RouterLink::RevokedBackoff() {
  const std::int64_t retry = options_.revoked_retry.count();
  std::uniform_int_distribution<std::int64_t> pick(retry - retry / 4, retry + retry / 4);
  return std::chrono::milliseconds(pick(jitter_));
}

asio::awaitable<void> RouterLink::ConnectLoop() {
  auto self = shared_from_this();
  while (!stopped_) {
    Result<net::TlsStream> stream = co_await net::ConnectTls(
        executor_, options_.host, options_.port, options_.tls, options_.connect_timeout);
    if (stopped_) co_return;
    if (stream.ok()) {
      if (!last_failure_.empty()) {
        LogInfo(kLog, "reached the router at " + options_.host + ":" +
                          std::to_string(options_.port) + " again");
        last_failure_.clear();
      }
      net::FramedConnectionOptions fo;
      fo.idle_timeout = std::max(heartbeat_interval_ * 4, std::chrono::milliseconds(10000));
      auto conn = std::make_shared<Connection>(std::move(*stream), fo);
      conn->Start();
      conn_ = conn;
      co_await Session(conn);
      conn_.reset();
      if (connected_) {
        connected_ = false;
        if (callbacks_.on_connection) callbacks_.on_connection(false);
      }
      FailPending("connection to the router lost");
      ack_wake_.cancel();
      if (stopped_) co_return;
      ++reconnects_;
    } else if (stream.status().message() != last_failure_) {
      // Said once per reason, not at every retry.
      last_failure_ = stream.status().message();
      LogWarn(kLog, "cannot reach the router at " + options_.host + ":" +
                        std::to_string(options_.port) + ": " + last_failure_ +
                        "; deciding offline, retrying with backoff");
    } else {
      LogDebug(kLog, "cannot reach the router: " + last_failure_);
    }
    reconnect_timer_.expires_after(revoked_ ? RevokedBackoff() : NextBackoff());
    co_await reconnect_timer_.async_wait(net::use_nothrow_awaitable);
  }
}

asio::awaitable<void> RouterLink::Session(std::shared_ptr<Connection> conn) {
  v1::Envelope hello;
  *hello.mutable_hello() = callbacks_.make_hello();
  conn->Send(hello);
  std::string reason;
  bool welcomed = false;
  for (;;) {
    v1::Envelope in;
    const net::error_code ec = co_await conn->Read(in);
    if (ec) {
      reason = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated
                   ? "router closed the connection"
                   : ec.message();
      break;
    }
    switch (in.body_case()) {
      case v1::Envelope::kWelcome: {
        welcomed = true;
        connected_ = true;
        revoked_ = false;
        backoff_ = std::chrono::milliseconds(0);
        if (in.welcome().heartbeat_interval_ms() > 0) {
          heartbeat_interval_ = std::chrono::milliseconds(in.welcome().heartbeat_interval_ms());
          conn->SetIdleTimeout(std::max(heartbeat_interval_ * 4, std::chrono::milliseconds(10000)));
        }
        LogInfo(kLog, "connected to the router at " + options_.host + ":" +
                          std::to_string(options_.port));
        if (callbacks_.on_connection) callbacks_.on_connection(true);
        // Everything not yet acknowledged goes again; the router stores outcomes idempotently.
        for (const v1::Outcome& o : unacked_) {
          v1::Envelope e;
          *e.mutable_outcome() = o;
          conn->Send(e);
        }
        asio::co_spawn(executor_, HeartbeatLoop(conn), asio::detached);
        break;
      }
      case v1::Envelope::kPolicyBundle:
        if (callbacks_.on_policy) callbacks_.on_policy(in.policy_bundle());
        break;
      case v1::Envelope::kHouseholdView:
        if (callbacks_.on_household) callbacks_.on_household(in.household_view());
        break;
      case v1::Envelope::kDecision: {
        auto it = pending_.find(in.decision().request_id());
        if (it != pending_.end()) {
          it->second->result = std::move(*in.mutable_decision());
          it->second->wake.cancel();
          pending_.erase(it);
        }
        break;
      }
      case v1::Envelope::kAck: {
        const std::uint64_t id = in.ack().request_id();
        auto it = std::find_if(unacked_.begin(), unacked_.end(),
                               [id](const v1::Outcome& o) { return o.request_id() == id; });
        if (it != unacked_.end()) unacked_.erase(it);
        if (callbacks_.on_ack) callbacks_.on_ack(unacked_.size());
        ack_wake_.cancel();
        break;
      }
      case v1::Envelope::kPong:
        if (in.pong().nonce() == ping_nonce_) {
          rtt_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                              ping_sent_)
                        .count();
        }
        break;
      case v1::Envelope::kPing: {
        v1::Envelope pong;
        pong.mutable_pong()->set_nonce(in.ping().nonce());
        conn->Send(pong);
        break;
      }
      case v1::Envelope::kError: {
        const v1::Error& err = in.error();
        if (err.request_id() != 0) {
          auto it = pending_.find(err.request_id());
          if (it != pending_.end()) {
            it->second->result = Unavailable("router refused: " + err.message());
            it->second->wake.cancel();
            pending_.erase(it);
          }
        } else if (err.code() == v1::ERROR_REVOKED) {
          if (!revoked_.exchange(true)) {
            LogError(kLog, "the router refuses this device as revoked (" + err.message() +
                               "); trying again every " +
                               std::to_string(options_.revoked_retry.count() / 1000) +
                               " s, deciding offline meanwhile");
          }
        } else {
          LogWarn(kLog, "router error: " + err.message());
        }
        break;
      }
      default: break;
    }
  }
  conn->Close(reason);
  if (!welcomed && !revoked_) {
    // Refused before the Welcome: most often the router does not accept this device's
    // certificate (another CA, revoked, expired) or the Hello (identity, profile).
    LogWarn(kLog, "the router at " + options_.host + ":" + std::to_string(options_.port) +
                      " closed the connection before welcoming this device: " + reason +
                      " (check that the router trusts this device's certificate and knows its "
                      "profile; the router's log says why)");
  } else {
    LogInfo(kLog, "router connection ended: " + reason);
  }
}

asio::awaitable<void> RouterLink::HeartbeatLoop(std::shared_ptr<Connection> conn) {
  auto self = shared_from_this();
  while (!stopped_ && conn_ == conn && !conn->closed()) {
    SendHeartbeat();
    heartbeat_timer_.expires_after(heartbeat_interval_);
    co_await heartbeat_timer_.async_wait(net::use_nothrow_awaitable);
  }
}

void RouterLink::SendHeartbeat() {
  if (!conn_ || !connected_) return;
  v1::Envelope hb;
  hb.mutable_heartbeat()->set_seq(++heartbeat_seq_);
  *hb.mutable_heartbeat()->mutable_state() = callbacks_.current_state();
  conn_->Send(hb);
  v1::Envelope ping;
  ping.mutable_ping()->set_nonce(++ping_nonce_);
  ping_sent_ = std::chrono::steady_clock::now();
  conn_->Send(ping);
}

void RouterLink::HeartbeatNow() { SendHeartbeat(); }

void RouterLink::FailPending(const std::string& why) {
  for (auto& [id, p] : pending_) {
    p->result = Unavailable(why);
    p->wake.cancel();
  }
  pending_.clear();
}

asio::awaitable<Result<v1::Decision>> RouterLink::Decide(v1::DecideRequest request,
                                                         std::chrono::milliseconds timeout) {
  if (!conn_ || !connected_) co_return Unavailable("not connected to the router");
  auto pending = std::make_shared<Pending>(executor_);
  const std::uint64_t id = request.request_id();
  pending_[id] = pending;
  v1::Envelope e;
  *e.mutable_decide_request() = std::move(request);
  conn_->Send(e);
  pending->wake.expires_after(timeout);
  co_await pending->wake.async_wait(net::use_nothrow_awaitable);
  if (pending->result) co_return std::move(*pending->result);
  pending_.erase(id);
  co_return DeadlineExceeded("the router did not decide within " + std::to_string(timeout.count()) +
                             " ms");
}

asio::awaitable<bool> RouterLink::WaitAcked(std::chrono::steady_clock::time_point deadline) {
  auto self = shared_from_this();
  while (!unacked_.empty() && connected_ && !stopped_ &&
         std::chrono::steady_clock::now() < deadline) {
    ack_wake_.expires_at(deadline);
    co_await ack_wake_.async_wait(net::use_nothrow_awaitable);
  }
  co_return unacked_.empty();
}

void RouterLink::ReportOutcome(v1::Outcome outcome) {
  if (unacked_.size() >= options_.max_unacked_outcomes) {
    LogWarn(kLog, "dropping the oldest unacknowledged outcome: the router has been away too long");
    unacked_.pop_front();
  }
  unacked_.push_back(outcome);
  if (conn_ && connected_) {
    v1::Envelope e;
    *e.mutable_outcome() = std::move(outcome);
    conn_->Send(e);
  }
}

}  // namespace partita::agent
