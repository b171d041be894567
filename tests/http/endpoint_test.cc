#include "http/endpoint.h"

#include <doctest/doctest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "http/io.h"
#include "tests/testing/io_thread.h"

namespace partita::http {
namespace {

struct Answer {
  ReadStatus status;
  int code = 0;
  std::string body;
  std::string head;
  bool keep_alive = false;
};

// A client connection to the endpoint: sends raw bytes, reads responses with http/io.h.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  void Send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  Answer Next(bool to_head = false) { return testing::RunCoroutine(io_, Read(to_head)); }

 private:
  asio::awaitable<Answer> Read(bool to_head) {
    const ReadResult r = co_await ReadResponse(socket_, buffer_, response_, {}, to_head);
    co_return Answer{r.status, response_.head.status, response_.body, response_.head_bytes,
                     response_.head.keep_alive};
  }

  asio::io_context io_;
  net::tcp::socket socket_;
  ReadBuffer buffer_;
  Response response_;
};

struct Fixture {
  testing::IoThread server;
  std::unique_ptr<HttpEndpoint> endpoint;
  int scrapes = 0;

  Fixture() {
    auto ep = HttpEndpoint::Create(
        server.context(), {asio::ip::make_address("127.0.0.1"), 0},
        {{"/metrics",
          [this] {
            ++scrapes;
            return HttpResponse{200, "text/plain", "up 1\n"};
          }},
         {"/healthz", [] {
            return HttpResponse{503, "application/json", "{\"healthy\":false}"};
          }}});
    REQUIRE(ep.ok());
    endpoint = std::move(*ep);
    endpoint->Start();
  }
  std::uint16_t port() const { return endpoint->local_endpoint().port(); }
};

TEST_CASE("The ops endpoint answers its routes on one kept-alive connection") {
  Fixture f;
  Client c(f.port());
  c.Send(
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  Answer a = c.Next();
  CHECK(a.status == ReadStatus::kOk);
  CHECK(a.code == 200);
  CHECK(a.body == "up 1\n");
  CHECK(a.keep_alive);
  a = c.Next();
  CHECK(a.code == 503);
  CHECK(a.body == "{\"healthy\":false}");
  CHECK(a.head.find("Content-Type: application/json") != std::string::npos);
  // HEAD: the GET's head, its Content-Length included, and no body.
  c.Send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  a = c.Next(/*to_head=*/true);
  CHECK(a.code == 200);
  CHECK(a.head.find("Content-Length: 5") != std::string::npos);
  a = c.Next();  // a HEAD answer with a body would have been read into this one
  CHECK(a.body == "up 1\n");
  CHECK(f.scrapes == 3);
}

TEST_CASE("The ops endpoint says what it serves, and refuses what it does not") {
  Fixture f;
  Client c(f.port());
  c.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  Answer a = c.Next();
  CHECK(a.code == 404);
  CHECK(a.body == "not found; this port serves /healthz, /metrics\n");
  c.Send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  a = c.Next();
  CHECK(a.code == 405);
  CHECK(a.keep_alive);
  c.Send("GET /metrics HTTP/1.1\r\nHost x\r\n\r\n");
  a = c.Next();
  CHECK(a.code == 400);
  CHECK(a.body.find("line 2") != std::string::npos);
  CHECK_FALSE(a.keep_alive);
  CHECK(c.Next().status == ReadStatus::kClosed);  // and the connection is closed
  Client big(f.port());
  big.Send("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  a = big.Next();
  CHECK(a.code == 431);
  CHECK(f.scrapes == 0);
}

TEST_CASE("A stopped endpoint accepts no more connections") {
  Fixture f;
  const std::uint16_t port = f.port();
  {
    Client c(port);
    c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.Next().code == 200);
  }
  asio::post(f.server.context(), [&] { f.endpoint->Stop(); });
  // Stop() closes the listening socket on the server's thread; connecting is refused once it
  // has run (the post above is ordered before this one).
  std::promise<void> stopped;
  asio::post(f.server.context(), [&] { stopped.set_value(); });
  stopped.get_future().wait();
  asio::io_context io;
  net::tcp::socket s(io);
  net::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  CHECK(ec);
}

}  // namespace
}  // namespace partita::http
