// modeld over real sockets: simulated marking, rates, faults by flag and by header, bad input.
#include "modeld/model_server.h"

#include <doctest/doctest.h>

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <thread>

#include "backends/chat_client.h"
#include "tests/backends/test_servers.h"
#include "tests/testing/beast_client.h"

namespace partita::modeld {
namespace {

using namespace std::chrono_literals;
namespace beast_http = net::beast::http;
using backends::testing::ModeldFixture;
using partita::testing::RunCoroutine;
using namespace backends;

// One blocking HTTP exchange on a fresh connection (the server runs on its own thread); a body
// is sent as JSON.
beast_http::response<beast_http::string_body> Exchange(
    std::uint16_t port, beast_http::verb method, std::string target, std::string body = "",
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return partita::testing::BeastExchange(port, method, target, body, headers);
}

std::string Body(bool stream, int max_tokens) {
  ChatParams p;
  p.model = "anything";
  p.messages = {{"user", "Tell me about the weather."}};
  p.stream = stream;
  p.max_tokens = max_tokens;
  return BuildChatRequestBody(p);
}

TEST_CASE("every response is marked simulated, in the header and the body") {
  ModeldFixture modeld;
  auto res =
      Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(false, 4));
  CHECK(res.result_int() == 200);
  CHECK(res["X-Partita-Simulated"] == "1");
  CHECK(res.body().find("\"partita_simulated\":true") != std::string::npos);
  CHECK(res.body().find("\"model\":\"milm-7b-moe (simulated)\"") != std::string::npos);

  auto stream =
      Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(true, 4));
  CHECK(stream[beast_http::field::content_type] == "text/event-stream");
  CHECK(stream["X-Partita-Simulated"] == "1");
  // Every data event except [DONE] carries the marker.
  std::size_t events = 0;
  std::size_t marked = 0;
  for (std::size_t at = stream.body().find("data: "); at != std::string::npos;
       at = stream.body().find("data: ", at + 1)) {
    ++events;
    const std::size_t end = stream.body().find("\n\n", at);
    const std::string event = stream.body().substr(at, end - at);
    if (event.find("\"partita_simulated\":true") != std::string::npos) ++marked;
  }
  CHECK(events == 4 + 4);  // role, 4 tokens, finish, usage, [DONE]
  CHECK(marked == events - 1);
  CHECK(stream.body().ends_with("data: [DONE]\n\n"));

  auto health = Exchange(modeld.port(), beast_http::verb::get, "/health");
  CHECK(health.result_int() == 200);
  CHECK(health.body().find("\"partita_simulated\":true") != std::string::npos);
  auto models = Exchange(modeld.port(), beast_http::verb::get, "/v1/models");
  CHECK(models.body().find("\"id\":\"milm-7b-moe\"") != std::string::npos);
  CHECK(models["X-Partita-Simulated"] == "1");
}

TEST_CASE("the text is deterministic for a request and differs between requests") {
  const auto a1 = SimulatedTokens("request a", 20);
  const auto a2 = SimulatedTokens("request a", 20);
  const auto b = SimulatedTokens("request b", 20);
  CHECK(a1 == a2);
  CHECK(a1 != b);
  CHECK(a1.front() == "[simulated]");
  CHECK(a1.size() == 20);
}

TEST_CASE("streaming follows the catalog's decode rate") {
  // milm-7b-moe decodes at 110 tokens/s in the cloud; at rate_scale 10 that is 1100 tokens/s.
  ModelServerOptions o;
  o.rate_scale = 10;
  ModeldFixture modeld(o);
  CHECK(modeld.server().decode_tokens_per_s() == doctest::Approx(1100));
  CHECK(modeld.server().rates_source() == "cloud");
  net::asio::io_context io;
  ClientConfig c;
  c.url = modeld.url();
  auto client = ChatClient::Create(io.get_executor(), c);
  REQUIRE(client.ok());
  ChatOutcome out = RunCoroutine(io, Complete(**client, Body(true, 40), true, Timeouts{}));
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.content_chunks == 40);
  // The 40th token cannot leave before prefill + 39 token times after the server got the
  // request (a lower bound that scheduling delays cannot break).
  CHECK(out.total >= std::chrono::microseconds(static_cast<long>(39 / 1100.0 * 1e6)));
}

TEST_CASE("device rates come from the named device class") {
  ModelServerOptions o;
  o.model = "milm-1.3b";
  o.device = "phone-mid";
  ModeldFixture modeld(o);
  CHECK(modeld.server().rates_source() == "phone-mid");
  net::asio::io_context io;
  o.device = "watch";  // runs no model
  auto bad = ModelServer::Create({&io}, o, DefaultCatalog());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("does not run on device class 'watch'") != std::string::npos);
}

TEST_CASE("unknown models and bad rate scales are refused with a useful message") {
  net::asio::io_context io;
  ModelServerOptions o;
  o.model = "gpt-9";
  auto bad = ModelServer::Create({&io}, o, DefaultCatalog());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("milm-7b-moe") != std::string::npos);
  o.model = "milm-7b-moe";
  o.rate_scale = 0;
  CHECK_FALSE(ModelServer::Create({&io}, o, DefaultCatalog()).ok());
}

TEST_CASE("fault specs parse, print and reject nonsense") {
  auto f = ParseFaultSpec("status=503, stall-after=3,slow-ms=20,bad-sse,no-usage");
  REQUIRE(f.ok());
  CHECK(f->status == 503);
  CHECK(f->stall_after == 3);
  CHECK(f->slow_ms == 20);
  CHECK(f->bad_sse);
  CHECK(f->no_usage);
  CHECK(ParseFaultSpec(f->ToString())->ToString() == f->ToString());
  CHECK(ParseFaultSpec("none")->ToString() == "none");
  CHECK_FALSE(ParseFaultSpec("status=200").ok());
  CHECK_FALSE(ParseFaultSpec("stall-after").ok());
  CHECK_FALSE(ParseFaultSpec("explode").ok());
}

TEST_CASE("a request header fault overrides the server's") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("status=500"));
  auto res =
      Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(false, 3));
  CHECK(res.result_int() == 500);
  res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(false, 3),
                 {{"X-Partita-Fault", "none"}});
  CHECK(res.result_int() == 200);
  res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(false, 3),
                 {{"X-Partita-Fault", "status=429"}});
  CHECK(res.result_int() == 429);
  res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(false, 3),
                 {{"X-Partita-Fault", "bogus"}});
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("X-Partita-Fault") != std::string::npos);
}

TEST_CASE("a client that gives up on a long whole answer is let go, not held half-closed") {
  ModelServerOptions slow = ModeldFixture::Fast();
  slow.rate_scale = 1;  // milm-7b-moe's real rate: 2,000 tokens take over a minute
  ModeldFixture modeld(slow);
  {
    net::asio::io_context io;
    net::tcp::socket socket(io);
    socket.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), modeld.port()));
    const std::string body = Body(false, 2000);
    const std::string raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    net::asio::write(socket, net::asio::buffer(raw));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (modeld.server().stats().requests.load() == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  }  // the client closes
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (modeld.server().stats().abandoned.load() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  CHECK(modeld.server().stats().abandoned.load() == 1);
}

TEST_CASE("no-usage leaves the usage object out") {
  ModeldFixture modeld;
  auto res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(true, 3),
                      {{"X-Partita-Fault", "no-usage"}});
  CHECK(res.result_int() == 200);
  CHECK(res.body().find("\"usage\"") == std::string::npos);
}

TEST_CASE("bad input gets a clear 4xx and the server keeps serving") {
  ModelServerOptions o = ModeldFixture::Fast();
  o.max_body_bytes = 1024;
  ModeldFixture modeld(o);
  auto res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", "{not json");
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("not valid JSON") != std::string::npos);
  res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions",
                 R"({"model":"m","messages":[]})");
  CHECK(res.result_int() == 400);
  res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions",
                 Body(false, 2) + std::string(2000, ' '));
  CHECK(res.result_int() == 413);
  res = Exchange(modeld.port(), beast_http::verb::get, "/v1/chat/completions");
  CHECK(res.result_int() == 405);
  res = Exchange(modeld.port(), beast_http::verb::get, "/nope");
  CHECK(res.result_int() == 404);
  CHECK(modeld.server().stats().bad_requests.load() == 5);
  res = Exchange(modeld.port(), beast_http::verb::post, "/v1/chat/completions", Body(false, 2));
  CHECK(res.result_int() == 200);
}

}  // namespace
}  // namespace partita::modeld
