// A small HTTP/1.1 server for operational endpoints (/metrics, health) on a loopback port.
//
// GET (and HEAD) routes only, each a function returning the response; an unknown path gets 404
// with the list of paths, other methods 405, a malformed request 400, an oversize one 431 or
// 413, each followed by closing the connection. Every read and write has a timeout. Not for
// data-plane traffic (the gateway's sessions and modeld read with http/io.h).
// Threading: an endpoint runs on the io_context given at creation; a server that accepts on its
// own threads (the gateway) serves each connection with ServeRoutes on that connection's
// thread. Handlers run on the serving thread and must not block.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "net/asio.h"

namespace partita::http {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::string body;
};

// The paths a port serves, by path without its query.
struct RouteTable {
  using Handler = std::function<HttpResponse()>;
  std::map<std::string, Handler, std::less<>> routes;
  std::atomic<bool> stopped{false};  // connections end after their current request
};

// Serves requests on `socket` from `table` until the client closes, idles out or errs.
asio::awaitable<void> ServeRoutes(net::tcp::socket socket, std::shared_ptr<const RouteTable> table);

class HttpEndpoint {
 public:
  using Handler = RouteTable::Handler;

  static Result<std::unique_ptr<HttpEndpoint>> Create(asio::io_context& io,
                                                      net::tcp::endpoint where,
                                                      std::map<std::string, Handler> routes);
  ~HttpEndpoint();

  net::tcp::endpoint local_endpoint() const;
  void Start();
  void Stop();

 private:
  HttpEndpoint(asio::io_context& io, std::map<std::string, Handler> routes);
  asio::awaitable<void> AcceptLoop();

  asio::io_context& io_;
  net::tcp::acceptor acceptor_;
  std::shared_ptr<RouteTable> table_;
};

}  // namespace partita::http
