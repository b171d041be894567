// One blocking HTTP/1.1 exchange through Beast, for tests of Partita's HTTP servers: Beast is an
// implementation independent of Partita's own, so a server is not checked against itself.
// Single-threaded; each call opens and closes its own connection.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "net/asio.h"

namespace partita::testing {

// Sends `method target` with `headers` and `body` (Content-Length set) to 127.0.0.1:port and
// reads the response; a response that does not arrive whole has status 0.
inline net::beast::http::response<net::beast::http::string_body> BeastExchange(
    std::uint16_t port, net::beast::http::verb method, const std::string& target,
    const std::string& body = "",
    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  namespace http = net::beast::http;
  net::asio::io_context io;
  net::tcp::socket socket(io);
  socket.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req);
  net::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  net::error_code ec;
  http::read(socket, buffer, res, ec);
  if (ec) res.result(0u);
  return res;
}

}  // namespace partita::testing
