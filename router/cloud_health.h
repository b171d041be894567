// Polls the cloud gateway's health endpoint (GET /v1/partita/health) and keeps CloudState up to
// date: fleet.cloud_healthy, fleet.cloud_load and the gateway's fleet budget left. An
// unreachable or unhealthy gateway reads as unhealthy. http:// (the gateway's loopback
// operations port) or https:// (its TLS front, with the router's certificate).
// Runs as a coroutine on one of the router's I/O threads.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/io.h"
#include "net/asio.h"
#include "net/tls.h"
#include "router/decider.h"

namespace partita::router {

struct HealthSample {
  bool healthy = false;
  double load = 0;
  double budget_left_usd = -1;  // -1: the gateway has no fleet budget
};

// Parses the gateway's health JSON; InvalidArgument when it is not that.
Result<HealthSample> ParseHealth(std::string_view body);

class CloudHealthPoller {
 public:
  // `tls` is needed for https URLs (the router's own certificate).
  static Result<std::unique_ptr<CloudHealthPoller>> Create(std::string url,
                                                           std::chrono::milliseconds interval,
                                                           net::TlsContextPtr tls,
                                                           CloudState& cloud);
  asio::awaitable<void> Run();
  void Stop() { stopped_ = true; }
  // Polls completed (answered or not); read from any thread.
  std::uint64_t polls() const { return polls_.load(); }

 private:
  CloudHealthPoller(CloudState& cloud) : cloud_(cloud) {}
  asio::awaitable<Result<std::string>> Fetch();

  CloudState& cloud_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string target_;
  bool https_ = false;
  std::chrono::milliseconds interval_{2000};
  net::TlsContextPtr tls_;
  bool stopped_ = false;
  bool last_healthy_ = true;
  std::atomic<std::uint64_t> polls_{0};
  // The kept-alive connection to the gateway (one of the two, by scheme), and its read buffer.
  std::optional<net::TlsStream> tls_stream_;
  std::optional<net::beast::tcp_stream> tcp_stream_;
  http::ReadBuffer buffer_;
  http::Response response_;
};

}  // namespace partita::router
