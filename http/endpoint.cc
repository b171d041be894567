#include "http/endpoint.h"

#include <boost/asio/write.hpp>

#include "http/io.h"
#include "http/writer.h"

namespace partita::http {

namespace {

constexpr std::chrono::seconds kIdleTimeout{60};
constexpr std::chrono::seconds kWriteTimeout{10};
constexpr Limits kOpsLimits{8 * 1024, 4096};

std::string KnownPaths(const RouteTable& table) {
  std::string paths;
  for (const auto& [path, handler] : table.routes) paths += (paths.empty() ? "" : ", ") + path;
  return paths;
}

}  // namespace

asio::awaitable<void> ServeRoutes(net::tcp::socket socket,
                                  std::shared_ptr<const RouteTable> table) {
  net::beast::tcp_stream stream(std::move(socket));
  ReadBuffer buffer;
  Request request;
  std::string out;
  for (;;) {
    stream.expires_after(kIdleTimeout);
    const ReadResult read = co_await ReadRequest(stream, buffer, request, kOpsLimits);
    if (table->stopped.load(std::memory_order_acquire)) break;
    const RequestHead& req = request.head;
    bool keep_alive = req.keep_alive;
    if (read.status == ReadStatus::kOk) {
      std::string_view target = req.target.substr(0, req.target.find('?'));
      const bool head_only = req.method == "HEAD";
      const auto route = table->routes.find(target);
      HttpResponse r;
      if (req.method != "GET" && !head_only) {
        r = {405, "text/plain; charset=utf-8", "only GET\n"};
      } else if (route == table->routes.end()) {
        r = {404, "text/plain; charset=utf-8",
             "not found; this port serves " + KnownPaths(*table) + "\n"};
      } else {
        r = route->second();
      }
      out = MakeResponse(r.status, r.content_type, r.body, keep_alive);
      if (head_only) out.resize(out.size() - r.body.size());  // the GET's head, no body
    } else if (read.status == ReadStatus::kMalformed || read.status == ReadStatus::kHeadTooLarge ||
               read.status == ReadStatus::kBodyTooLarge) {
      const int status = read.status == ReadStatus::kMalformed      ? 400
                         : read.status == ReadStatus::kHeadTooLarge ? 431
                                                                    : 413;
      keep_alive = false;
      out = MakeResponse(status, "text/plain; charset=utf-8", read.error + "\n", false);
    } else {
      break;
    }
    stream.expires_after(kWriteTimeout);
    auto [ec, n] =
        co_await asio::async_write(stream, asio::buffer(out), net::use_nothrow_awaitable);
    if (ec || !keep_alive) break;
  }
  net::error_code ignored;
  stream.socket().shutdown(net::tcp::socket::shutdown_both, ignored);
}

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Create(asio::io_context& io,
                                                           net::tcp::endpoint where,
                                                           std::map<std::string, Handler> routes) {
  std::unique_ptr<HttpEndpoint> ep(new HttpEndpoint(io, std::move(routes)));
  net::error_code ec;
  ep->acceptor_.open(where.protocol(), ec);
  if (!ec) ep->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) ep->acceptor_.bind(where, ec);
  if (!ec) ep->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + where.address().to_string() + ":" +
                       std::to_string(where.port()) + ": " + ec.message());
  }
  return ep;
}

HttpEndpoint::HttpEndpoint(asio::io_context& io, std::map<std::string, Handler> routes)
    : io_(io), acceptor_(io), table_(std::make_shared<RouteTable>()) {
  for (auto& [path, handler] : routes) table_->routes.emplace(path, std::move(handler));
}

HttpEndpoint::~HttpEndpoint() { Stop(); }

net::tcp::endpoint HttpEndpoint::local_endpoint() const {
  net::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void HttpEndpoint::Start() { asio::co_spawn(io_, AcceptLoop(), asio::detached); }

void HttpEndpoint::Stop() {
  table_->stopped.store(true, std::memory_order_release);
  net::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> HttpEndpoint::AcceptLoop() {
  const std::shared_ptr<RouteTable> table = table_;
  while (!table->stopped.load(std::memory_order_acquire)) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow_awaitable);
    if (ec || table->stopped.load(std::memory_order_acquire)) co_return;
    asio::co_spawn(io_, ServeRoutes(std::move(socket), table), asio::detached);
  }
}

}  // namespace partita::http
