// A device's request may reach the gateway in any pieces: every split of a request, head and
// body, content-length and chunked, on the plaintext and the TLS front, is answered as if it had
// come whole, and bodies larger than one read (16 KB, 20 KB, 100 KB) pass. Regression: a body
// that arrived after its head crashed the gateway (a GCC 12 coroutine miscompile in the read
// path, see docs/architecture.md).
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "tests/cloud_gateway/gateway_fixture.h"
#include "tests/testing/socket_queue.h"

namespace partita::cloud_gateway {
namespace {

using namespace testing;
using backends::testing::ModeldFixture;

// One keep-alive connection to a gateway front, written in exactly the pieces asked for: each
// piece is read by the gateway before the next is sent.
class SplitClient {
 public:
  // `tls_files`: a device's certificate for the TLS front; nullopt: the plaintext front.
  SplitClient(std::uint16_t port, std::optional<net::TlsFiles> tls_files) : port_(port) {
    const net::tcp::endpoint ep(net::asio::ip::make_address("127.0.0.1"), port);
    if (tls_files) {
      auto ctx = net::MakeClientTlsContext(*tls_files, {net::PeerKind::kGateway});
      REQUIRE_MESSAGE(ctx.ok(), ctx.status().ToString());
      tls_ = std::make_unique<net::TlsStream>(net::beast::tcp_stream(io_), **ctx);
      net::beast::get_lowest_layer(*tls_).socket().connect(ep);
      net::beast::get_lowest_layer(*tls_).socket().set_option(net::tcp::no_delay(true));
      tls_->handshake(net::asio::ssl::stream_base::client);
      local_port_ = net::beast::get_lowest_layer(*tls_).socket().local_endpoint().port();
    } else {
      plain_ = std::make_unique<net::tcp::socket>(io_);
      plain_->connect(ep);
      plain_->set_option(net::tcp::no_delay(true));
      local_port_ = plain_->local_endpoint().port();
    }
  }

  // Writes `bytes`, then waits until the gateway has read them.
  void WritePiece(std::string_view bytes) {
    if (bytes.empty()) return;
    if (tls_) {
      net::asio::write(*tls_, net::asio::buffer(bytes.data(), bytes.size()));
    } else {
      net::asio::write(*plain_, net::asio::buffer(bytes.data(), bytes.size()));
    }
    REQUIRE_MESSAGE(partita::testing::WaitReceiveQueueDrained(port_, local_port_),
                    "the gateway did not read a piece within 5 s");
  }

  // The next response with a Content-Length: status and body (status 0: the connection ended).
  std::pair<int, std::string> ReadResponse() {
    for (;;) {
      http::ResponseHead head;
      if (http::ParseResponseHead(in_, head) == http::Parse::kComplete &&
          in_.size() >= head.size + head.content_length) {
        std::pair<int, std::string> out(head.status, in_.substr(head.size, head.content_length));
        in_.erase(0, head.size + head.content_length);
        return out;
      }
      char buf[16384];
      net::error_code ec;
      const std::size_t n = tls_ ? tls_->read_some(net::asio::buffer(buf), ec)
                                 : plain_->read_some(net::asio::buffer(buf), ec);
      if (ec) return {0, ""};
      in_.append(buf, n);
    }
  }

 private:
  net::asio::io_context io_;
  std::uint16_t port_;
  std::uint16_t local_port_ = 0;
  std::unique_ptr<net::TlsStream> tls_;
  std::unique_ptr<net::tcp::socket> plain_;
  std::string in_;
};

std::string Head(const std::string& framing) {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Partita-Device: bench\r\n"
         "Content-Type: application/json\r\n" +
         framing + "\r\n";
}

std::string WithLength(const std::string& body) {
  return Head("Content-Length: " + std::to_string(body.size()) + "\r\n") + body;
}

// The body in chunks of `piece` bytes, with a chunk extension and a trailer.
std::string Chunked(const std::string& body, std::size_t piece) {
  std::string out = Head("Transfer-Encoding: chunked\r\n");
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::string part = body.substr(at, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%zx;ext=1\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out + "0\r\nX-Trailer: t\r\n\r\n";
}

// The answer's text, from a non-streamed completion's JSON.
std::string Content(const std::string& json) {
  Result<backends::CompletionInfo> info = backends::ParseCompletion(json);
  const std::string why = info.ok() ? "" : info.status().ToString() + ": " + json.substr(0, 300);
  REQUIRE_MESSAGE(info.ok(), why);
  return info->content;
}

// Sends `request` split at every byte offset on one connection; each answer must be a 200 whose
// completion is the simulated one for `body`.
void EveryOffset(SplitClient& client, const std::string& request, const std::string& body) {
  const std::string expected = Expected(body, 1);
  for (std::size_t at = 1; at < request.size(); ++at) {
    CAPTURE(at);
    client.WritePiece(std::string_view(request).substr(0, at));
    client.WritePiece(std::string_view(request).substr(at));
    const auto [status, answer] = client.ReadResponse();
    REQUIRE(status == 200);
    REQUIRE(Content(answer) == expected);
  }
}

TEST_CASE("a request split at every byte offset is answered whole, on both fronts") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  const std::string body = Body(false, 1);
  const std::uint16_t plain = gw.gateway().plaintext_port();
  const std::uint16_t tls = gw.gateway().tls_port();

  SUBCASE("content-length, plaintext front") {
    SplitClient c(plain, std::nullopt);
    EveryOffset(c, WithLength(body), body);
  }
  SUBCASE("content-length, TLS front") {
    SplitClient c(tls, net::DeviceTlsFiles(gw.pki(), "speaker"));
    EveryOffset(c, WithLength(body), body);
  }
  SUBCASE("chunked, plaintext front") {
    SplitClient c(plain, std::nullopt);
    EveryOffset(c, Chunked(body, 7), body);
  }
  SUBCASE("chunked, TLS front") {
    SplitClient c(tls, net::DeviceTlsFiles(gw.pki(), "speaker"));
    EveryOffset(c, Chunked(body, 7), body);
  }
  SUBCASE("a 10-byte chunked body in two writes") {
    SplitClient c(plain, std::nullopt);
    const std::string request = Head("Transfer-Encoding: chunked\r\n") + "a\r\n{\"model\":\"\r\n";
    c.WritePiece(request);
    c.WritePiece("0\r\n\r\n");
    const auto [status, answer] = c.ReadResponse();
    CHECK(status == 400);  // the body is not JSON: a clear error, and the gateway lives
    CHECK(answer.find("not valid JSON") != std::string::npos);
  }
  // The gateway is still there for everyone.
  CHECK(gw.Ask(Body(false, 1), false).ok());
}

TEST_CASE("bodies larger than one read pass on both fronts, whole or in pieces") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)), "max_body_bytes: 262144\n"));
  for (const std::size_t words : {3300u, 4000u, 20000u}) {  // about 16 KB, 20 KB and 100 KB
    std::string prompt;
    for (std::size_t i = 0; i < words; ++i) prompt += "word ";
    backends::ChatParams p;
    p.model = "milm-70b-moe";
    p.messages = {{"user", prompt}};
    p.max_tokens = 5;
    p.stream = false;
    const std::string body = backends::BuildChatRequestBody(p);
    CAPTURE(body.size());

    // Whole, as the agent's cloud tier sends it: the TLS front reads it in several records.
    backends::ChatOutcome whole = gw.Ask(body, false);
    REQUIRE_MESSAGE(whole.ok(), whole.error.message);
    CHECK(whole.text == Expected(body, 5));
    CHECK(gw.WaitDone().request_bytes == static_cast<std::int64_t>(body.size()));

    // The head alone, then the body in three pieces, on each front.
    for (const bool use_tls : {false, true}) {
      CAPTURE(use_tls);
      SplitClient c(
          use_tls ? gw.gateway().tls_port() : gw.gateway().plaintext_port(),
          use_tls ? std::optional(net::DeviceTlsFiles(gw.pki(), "speaker")) : std::nullopt);
      const std::string request = WithLength(body);
      const std::size_t head = request.size() - body.size();
      const std::size_t third = body.size() / 3;
      c.WritePiece(std::string_view(request).substr(0, head));
      c.WritePiece(std::string_view(request).substr(head, third));
      c.WritePiece(std::string_view(request).substr(head + third, third));
      c.WritePiece(std::string_view(request).substr(head + 2 * third));
      const auto [status, answer] = c.ReadResponse();
      CHECK(status == 200);
      CHECK(Content(answer) == Expected(body, 5));
      CHECK(gw.WaitDone().request_bytes == static_cast<std::int64_t>(body.size()));
    }
  }
}

}  // namespace
}  // namespace partita::cloud_gateway
