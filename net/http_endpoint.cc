#include "net/http_endpoint.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace partita::net {

namespace http = beast::http;

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Create(asio::io_context& io,
                                                           tcp::endpoint where,
                                                           std::map<std::string, Handler> routes) {
  std::unique_ptr<HttpEndpoint> ep(new HttpEndpoint(io, std::move(routes)));
  error_code ec;
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
    : io_(io), acceptor_(io), routes_(std::move(routes)), alive_(std::make_shared<bool>(true)) {}

HttpEndpoint::~HttpEndpoint() { Stop(); }

tcp::endpoint HttpEndpoint::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

void HttpEndpoint::Start() { asio::co_spawn(io_, AcceptLoop(), asio::detached); }

void HttpEndpoint::Stop() {
  *alive_ = false;
  error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> HttpEndpoint::AcceptLoop() {
  auto alive = alive_;
  while (*alive) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow_awaitable);
    if (ec || !*alive) co_return;
    asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpEndpoint::Serve(tcp::socket socket) {
  auto alive = alive_;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(8192);
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    stream.expires_after(std::chrono::seconds(10));
    auto [rec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow_awaitable);
    if (rec || !*alive) break;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "partita");
    std::string target(req.target());
    if (const auto q = target.find('?'); q != std::string::npos) target.resize(q);
    auto route = routes_.find(target);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.body() = "only GET\n";
    } else if (route == routes_.end()) {
      res.result(http::status::not_found);
      res.body() = "not found; try /metrics\n";
    } else {
      HttpResponse r = route->second();
      res.result(static_cast<http::status>(r.status));
      res.set(http::field::content_type, r.content_type);
      if (req.method() == http::verb::get) res.body() = std::move(r.body);
    }
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(10));
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow_awaitable);
    if (wec || !res.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace partita::net
