// Servers the backends and gateway tests talk to over real loopback sockets: an in-process
// modeld, and a scripted HTTP server that answers each request with the next canned raw
// response (for malformed or unusual upstreams). Both run on their own I/O thread.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "device_profiles/catalog_loader.h"
#include "modeld/model_server.h"
#include "net/asio.h"
#include "tests/testing/event_queue.h"
#include "tests/testing/io_thread.h"

namespace partita::backends::testing {

// modeld on its own thread, bound to 127.0.0.1:0.
class ModeldFixture {
 public:
  explicit ModeldFixture(modeld::ModelServerOptions options = Fast()) {
    auto server =
        modeld::ModelServer::Create({&io_.context()}, std::move(options), DefaultCatalog());
    REQUIRE_MESSAGE(server.ok(), server.status().ToString());
    server_ = std::move(*server);
    server_->Start();
  }
  ~ModeldFixture() {
    server_->Stop();
    io_.Stop();
  }

  // Fast rates (x1000) so tests do not wait for simulated prefill and decode.
  static modeld::ModelServerOptions Fast() {
    modeld::ModelServerOptions o;
    o.model = "milm-7b-moe";
    o.rate_scale = 1000;
    o.default_max_tokens = 8;
    return o;
  }

  modeld::ModelServer& server() { return *server_; }
  std::uint16_t port() const { return server_->local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }

 private:
  partita::testing::IoThread io_;
  std::unique_ptr<modeld::ModelServer> server_;
};

// Answers requests with canned raw HTTP responses, in order (the last one repeats).
class ScriptedServer {
 public:
  struct Reply {
    std::string raw;           // written as is
    bool close_after = false;  // close the connection after writing
  };

  explicit ScriptedServer(std::vector<Reply> replies)
      : replies_(std::move(replies)), acceptor_(io_.context()) {
    net::tcp::endpoint ep(net::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    net::asio::co_spawn(io_.context(), Accept(), net::asio::detached);
  }
  ~ScriptedServer() {
    net::asio::post(io_.context(), [this] { acceptor_.close(); });
    io_.Stop();
  }

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }
  partita::testing::EventQueue<std::string> bodies;
  partita::testing::EventQueue<int> closes;  // one per connection closed after a reply

 private:
  net::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow_awaitable);
      if (ec) co_return;
      ++connections_;
      net::asio::co_spawn(io_.context(), Serve(std::move(socket)), net::asio::detached);
    }
  }

  net::asio::awaitable<void> Serve(net::tcp::socket socket) {
    namespace beast_http = net::beast::http;
    net::beast::flat_buffer buffer;
    for (;;) {
      beast_http::request_parser<beast_http::string_body> parser;
      auto [ec, n] =
          co_await beast_http::async_read(socket, buffer, parser, net::use_nothrow_awaitable);
      if (ec) co_return;
      bodies.Push(parser.get().body());
      Reply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        const std::size_t i = std::min<std::size_t>(next_++, replies_.size() - 1);
        reply = replies_[i];
      }
      ++requests_;
      auto [wec, w] = co_await net::asio::async_write(socket, net::asio::buffer(reply.raw),
                                                      net::use_nothrow_awaitable);
      if (wec) co_return;
      if (reply.close_after) {
        socket.close();
        closes.Push(1);
        co_return;
      }
    }
  }

  partita::testing::IoThread io_;
  std::mutex mu_;
  std::vector<Reply> replies_;
  std::size_t next_ = 0;
  net::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
};

// A raw HTTP/1.1 response with a body and Content-Length.
inline std::string RawResponse(int status, std::string_view content_type, std::string_view body,
                               std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) +
                    " X\r\nContent-Type: " + std::string(content_type) + "\r\n" +
                    std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n";
  out += body;
  return out;
}

// A raw chunked event-stream response whose body is `events` (one chunk).
inline std::string RawStream(std::string_view events, bool last_chunk = true) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", events.size());
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  out += size;
  out += "\r\n";
  out += events;
  out += "\r\n";
  if (last_chunk) out += "0\r\n\r\n";
  return out;
}

// One OpenAI stream chunk carrying `content`.
inline std::string ContentEvent(std::string_view content) {
  return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + std::string(content) +
         "\"},\"finish_reason\":null}]}\n\n";
}

// A loopback port that refuses connections while this object lives: a socket holds the port,
// bound but never listening, so no other test can take it between choosing it and using it.
class RefusingPort {
 public:
  RefusingPort() : socket_(io_) {
    socket_.open(net::tcp::v4());
    socket_.bind(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 0));
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }

 private:
  net::asio::io_context io_;
  net::tcp::socket socket_;
};

}  // namespace partita::backends::testing
