// A small HTTP/1.1 server for operational endpoints (/metrics, /healthz) on a loopback port.
//
// GET routes only, each a function returning the response body; unknown paths get 404, other
// methods 405, oversize or malformed requests 400 and a closed connection. Every read and write
// has a timeout. Not for data-plane traffic (the gateway has its own server).
// Threading: runs on the io_context given at creation; handlers run on that thread and must not
// block.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "net/asio.h"

namespace partita::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::string body;
};

class HttpEndpoint {
 public:
  using Handler = std::function<HttpResponse()>;

  static Result<std::unique_ptr<HttpEndpoint>> Create(asio::io_context& io, tcp::endpoint where,
                                                      std::map<std::string, Handler> routes);
  ~HttpEndpoint();

  tcp::endpoint local_endpoint() const;
  void Start();
  void Stop();

 private:
  HttpEndpoint(asio::io_context& io, std::map<std::string, Handler> routes);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(tcp::socket socket);

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::map<std::string, Handler> routes_;
  std::shared_ptr<bool> alive_;
};

}  // namespace partita::net
