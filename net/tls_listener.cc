#include "net/tls_listener.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "common/log.h"

namespace partita::net {

std::uint64_t HandshakeStats::TotalFailed() const {
  std::uint64_t total = 0;
  for (const auto& c : failed) total += c.load(std::memory_order_relaxed);
  return total;
}

Result<std::unique_ptr<TlsListener>> TlsListener::Create(
    asio::io_context& accept_context, std::vector<asio::io_context*> session_contexts,
    TlsContextPtr tls, TlsListenerOptions options, SessionHandler handler) {
  if (session_contexts.empty()) session_contexts.push_back(&accept_context);
  std::unique_ptr<TlsListener> listener(new TlsListener(
      accept_context, std::move(session_contexts), std::move(tls), options, std::move(handler)));
  error_code ec;
  tcp::acceptor& a = listener->acceptor_;
  a.open(options.endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(options.endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + options.endpoint.address().to_string() + ":" +
                       std::to_string(options.endpoint.port()) + ": " + ec.message());
  }
  return listener;
}

TlsListener::TlsListener(asio::io_context& accept_context,
                         std::vector<asio::io_context*> session_contexts, TlsContextPtr tls,
                         TlsListenerOptions options, SessionHandler handler)
    : accept_context_(accept_context),
      session_contexts_(std::move(session_contexts)),
      tls_(std::move(tls)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      acceptor_(accept_context),
      stopped_(std::make_shared<std::atomic<bool>>(false)) {}

TlsListener::~TlsListener() { Stop(); }

tcp::endpoint TlsListener::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

void TlsListener::Start() { asio::co_spawn(accept_context_, AcceptLoop(), asio::detached); }

void TlsListener::Stop() {
  stopped_->store(true);
  error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> TlsListener::AcceptLoop() {
  auto stopped = stopped_;
  while (!stopped->load()) {
    asio::io_context& target = *session_contexts_[next_context_++ % session_contexts_.size()];
    auto [ec, socket] = co_await acceptor_.async_accept(target, use_nothrow_awaitable);
    if (stopped->load()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of file descriptors and similar: log, pause briefly, keep serving.
      LogWarn(options_.log_component, "accept failed: " + ec.message());
      asio::steady_timer pause(accept_context_, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_nothrow_awaitable);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(target, Handshake(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> TlsListener::Handshake(tcp::socket socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  const std::string from = EndpointText(remote);
  TlsStream stream(beast::tcp_stream(std::move(socket)), *tls_);
  beast::get_lowest_layer(stream).expires_after(options_.handshake_timeout);
  auto [hs_ec] =
      co_await stream.async_handshake(asio::ssl::stream_base::server, use_nothrow_awaitable);
  if (hs_ec) {
    const HandshakeFailure reason = ClassifyHandshakeFailure(hs_ec, stream.native_handle());
    const std::string detail = DescribeHandshakeFailure(hs_ec, stream.native_handle());
    beast::get_lowest_layer(stream).close();
    Refuse(reason, "refused connection from " + from + ": " + detail);
    co_return;
  }
  beast::get_lowest_layer(stream).expires_never();
  Result<PeerIdentity> peer = PeerIdentityOf(stream.native_handle(), PeerRole::kClient);
  if (!peer.ok()) {
    beast::get_lowest_layer(stream).close();
    Refuse(HandshakeFailure::kBadIdentity,
           "refused connection from " + from + ": " + peer.status().message());
    co_return;
  }
  const std::size_t limit = options_.max_connections_per_identity;
  const std::string uri = peer->Uri();
  if (limit > 0) {
    std::size_t open = 0;
    {
      std::lock_guard<std::mutex> lock(counts_->mu);
      open = counts_->open[uri];
      if (open < limit) ++counts_->open[uri];
    }
    if (open >= limit) {
      beast::get_lowest_layer(stream).close();
      Refuse(HandshakeFailure::kTooManyConnections, "refused connection from " + from + ": " + uri +
                                                        " already holds " + std::to_string(open) +
                                                        " connections (the most one identity may)");
      co_return;
    }
  }
  stats_.accepted.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<IdentityCounts> counts = counts_;  // the listener may be gone by the end
  co_await handler_(std::move(stream), std::move(*peer));
  if (limit > 0) {
    std::lock_guard<std::mutex> lock(counts->mu);
    if (auto it = counts->open.find(uri); it != counts->open.end() && --it->second == 0) {
      counts->open.erase(it);
    }
  }
}

void TlsListener::Refuse(HandshakeFailure reason, const std::string& detail) {
  stats_.failed[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  LogWarn(options_.log_component, detail);
  if (options_.on_refused) options_.on_refused(reason, detail);
}

asio::awaitable<Result<TlsStream>> ConnectTls(asio::any_io_executor executor, std::string host,
                                              std::uint16_t port, TlsContextPtr tls,
                                              std::chrono::milliseconds timeout) {
  tcp::resolver resolver(executor);
  auto [rec, results] =
      co_await resolver.async_resolve(host, std::to_string(port), use_nothrow_awaitable);
  if (rec) co_return Unavailable("cannot resolve '" + host + "': " + rec.message());
  TlsStream stream(beast::tcp_stream(executor), *tls);
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto [cec, endpoint] =
      co_await beast::get_lowest_layer(stream).async_connect(results, use_nothrow_awaitable);
  const std::string where = host + ":" + std::to_string(port);
  if (cec) {
    if (cec == beast::error::timeout) {
      co_return DeadlineExceeded("connect to " + where + " timed out");
    }
    co_return Unavailable("cannot connect to " + where + ": " + cec.message());
  }
  error_code ignored;
  beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ignored);
  auto [hec] =
      co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow_awaitable);
  if (hec) {
    if (hec == beast::error::timeout) {
      co_return DeadlineExceeded("TLS handshake with " + where + " timed out");
    }
    co_return Unavailable("TLS handshake with " + where +
                          " failed: " + DescribeHandshakeFailure(hec, stream.native_handle()));
  }
  beast::get_lowest_layer(stream).expires_never();
  co_return std::move(stream);
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + host + "]" : host) + ":" +
         std::to_string(endpoint.port());
}

Result<std::pair<std::string, std::uint16_t>> SplitHostPort(std::string_view address) {
  std::string_view host;
  std::string_view port;
  if (address.starts_with('[')) {
    const std::size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return InvalidArgument("'" + std::string(address) + "' is not [ipv6]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("'" + std::string(address) + "' has no port (expected host:port)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return InvalidArgument("'" + std::string(address) + "' is not host:port");
  }
  return std::pair<std::string, std::uint16_t>(std::string(host),
                                               static_cast<std::uint16_t>(value));
}

Result<tcp::endpoint> ParseListenAddress(std::string_view address) {
  Result<std::pair<std::string, std::uint16_t>> hp = SplitHostPort(address);
  if (!hp.ok()) return hp.status();
  std::string host = hp->first == "localhost" ? "127.0.0.1" : hp->first;
  error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgument("'" + std::string(address) + "': listen address must be an IP address");
  }
  return tcp::endpoint(ip, hp->second);
}

}  // namespace partita::net
