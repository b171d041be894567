// The phone side of the phone tier: accepts offloads from other devices of the deployment over
// TLS 1.3 with mutual authentication, admits or declines each by this device's own state
// (battery, thermal, requests in flight) and by who asks (`admission.from`), and streams the
// answer from this device's runtime.
// A decline is immediate (OffloadReply{accepted: false, reason}) so the asking agent falls
// back at once. Runs on the agent's io_context thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "edge_agent/tiers.h"
#include "net/tls_listener.h"

namespace partita::agent {

class PeerServer {
 public:
  // Returns the reason to decline an offload from `asking_device` (its certificate's id) now, or
  // nullopt to accept it.
  using Admission = std::function<std::optional<std::string>(const std::string& asking_device)>;

  static Result<std::unique_ptr<PeerServer>> Create(asio::io_context& io, const std::string& listen,
                                                    net::TlsContextPtr tls, Admission admission,
                                                    TierRunner* runtime, TierRequest defaults,
                                                    std::function<double(std::uint32_t ms)> energy);
  void Start();
  void Stop();
  int in_flight() const { return in_flight_.load(); }
  // Offloads accepted and not yet answered to the asking device (in_flight() plus the final
  // write). `on_finished` runs each time one ends.
  int serving() const { return serving_; }
  void set_on_finished(std::function<void()> on_finished) { on_finished_ = std::move(on_finished); }
  net::tcp::endpoint endpoint() const { return listener_->local_endpoint(); }
  // Connections closed for a bad first frame (oversize, undecodable, not an OffloadRequest).
  std::uint64_t refused_frames() const { return refused_frames_.load(); }
  const net::HandshakeStats& handshake_stats() const { return listener_->stats(); }

 private:
  PeerServer() = default;
  asio::awaitable<void> Serve(net::TlsStream stream, net::PeerIdentity peer);

  std::unique_ptr<net::TlsListener> listener_;
  Admission admission_;
  TierRunner* runtime_ = nullptr;
  TierRequest defaults_;
  std::function<double(std::uint32_t)> energy_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::uint64_t> refused_frames_{0};
  int serving_ = 0;
  std::function<void()> on_finished_;
};

}  // namespace partita::agent
