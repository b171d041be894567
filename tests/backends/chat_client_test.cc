// The OpenAI-compatible client over real loopback sockets: against modeld (pass-through, faults,
// timeouts, pooling) and against scripted servers (malformed and unusual responses).
#include "backends/chat_client.h"

#include <doctest/doctest.h>

#include <cstdio>

#include "tests/backends/test_servers.h"

namespace partita::backends {
namespace {

using namespace std::chrono_literals;
using modeld::ParseFaultSpec;
using modeld::SimulatedTokens;
using partita::testing::RunCoroutine;
using testing::ContentEvent;
using testing::ModeldFixture;
using testing::RawResponse;
using testing::RawStream;
using testing::ScriptedServer;

std::string Body(bool stream, int max_tokens = 6, std::string text = "Say hello.") {
  ChatParams p;
  p.model = "milm-7b-moe";
  p.messages = {{"user", std::move(text)}};
  p.stream = stream;
  p.max_tokens = max_tokens;
  return BuildChatRequestBody(p);
}

std::string Expected(const std::string& body, int tokens) {
  std::string text;
  for (const std::string& t : SimulatedTokens(body, tokens)) text += t;
  return text;
}

Timeouts Short() {
  Timeouts t;
  t.connect = 2s;
  t.first_token = 2s;
  t.between_chunks = 2s;
  t.total = 10s;
  return t;
}

struct Client {
  net::asio::io_context io;
  std::unique_ptr<ChatClient> client;
  explicit Client(const std::string& url) {
    ClientConfig c;
    c.url = url;
    auto created = ChatClient::Create(io.get_executor(), c);
    REQUIRE_MESSAGE(created.ok(), created.status().ToString());
    client = std::move(*created);
  }
  ChatOutcome Run(const std::string& body, bool stream, Timeouts t = Short(),
                  DeltaCallback on_delta = {}) {
    return RunCoroutine(io, Complete(*client, body, stream, t, std::move(on_delta)));
  }
};

TEST_CASE("non-streaming request returns modeld's simulated text and usage") {
  ModeldFixture modeld;
  Client c(modeld.url());
  const std::string body = Body(false, 6);
  ChatOutcome out = c.Run(body, false);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.http_status == 200);
  CHECK(out.text == Expected(body, 6));
  CHECK(out.text.starts_with("[simulated]"));
  CHECK(out.simulated);
  CHECK(out.model == "milm-7b-moe (simulated)");
  REQUIRE(out.usage);
  CHECK(out.usage->completion_tokens == 6);
  CHECK(out.usage->prompt_tokens > 0);
  CHECK(out.finish_reason == "length");
}

TEST_CASE("streaming request delivers every delta, counts tokens and reads the usage") {
  ModeldFixture modeld;
  Client c(modeld.url());
  const std::string body = Body(true, 12);
  std::vector<std::string> deltas;
  ChatOutcome out = c.Run(body, true, Short(), [&](std::string_view d) { deltas.emplace_back(d); });
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(deltas.size() == 12);
  CHECK(out.text == Expected(body, 12));
  CHECK(out.content_chunks == 12);
  CHECK(out.ttft.count() >= 0);
  CHECK(out.ttft <= out.total);
  REQUIRE(out.usage);
  CHECK(out.usage->completion_tokens == 12);
  CHECK(out.finish_reason == "length");
}

TEST_CASE("keep-alive: the second request reuses the pooled connection") {
  ModeldFixture modeld;
  Client c(modeld.url());
  REQUIRE(c.Run(Body(true), true).ok());
  REQUIRE(c.Run(Body(false), false).ok());
  REQUIRE(c.Run(Body(true), true).ok());
  CHECK(c.client->stats().connects == 1);
  CHECK(c.client->stats().reused == 2);
  CHECK(c.client->idle_connections() == 1);
}

// Readiness is edge-triggered and reported once: in the second case the close of the idle
// connection is reported while nothing reads it, and the request on it must still notice.
TEST_CASE("a pooled connection the server closed is replaced transparently") {
  const std::string ok_body =
      R"({"choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}]})";
  ScriptedServer server({{RawResponse(200, "application/json", ok_body), true}});
  Client c(server.url());
  REQUIRE(c.Run(Body(false), false).ok());
  SUBCASE("the next request finds the close") {}
  SUBCASE("the event loop saw the close first, with nothing reading") {
    REQUIRE(server.closes.Pop());
    c.io.restart();
    c.io.poll();
  }
  ChatOutcome second = c.Run(Body(false), false);
  REQUIRE_MESSAGE(second.ok(), second.error.message);
  CHECK(second.text == "hi");
  CHECK(c.client->stats().stale_retries == 1);
  CHECK(server.connections() == 2);
}

constexpr std::string_view kCompletion =
    R"({"choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}]})";

std::string Hex(std::size_t n) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%zx", n);
  return digits;
}

TEST_CASE(
    "a body without a length ends where the server closes, and its connection is not reused") {
  ScriptedServer server(
      {{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Connection: close\r\n\r\n" +
            std::string(kCompletion),
        true}});
  Client c(server.url());
  for (int i = 0; i < 2; ++i) {
    ChatOutcome out = c.Run(Body(false), false);
    REQUIRE_MESSAGE(out.ok(), out.error.message);
    CHECK(out.text == "hi");
  }
  CHECK(c.client->stats().connects == 2);
  CHECK(c.client->idle_connections() == 0);
}

TEST_CASE("interim 1xx responses are skipped, and chunked JSON bodies are decoded") {
  ScriptedServer server(
      {{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: "
        "application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" +
        std::string(kCompletion.substr(0, 16)) + "\r\n" + Hex(kCompletion.size() - 16) + "\r\n" +
        std::string(kCompletion.substr(16)) + "\r\n0\r\n\r\n"}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(false), false);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.text == "hi");
  REQUIRE(c.Run(Body(false), false).ok());
  CHECK(c.client->stats().connects == 1);  // the chunked body ended cleanly: reused
}

TEST_CASE("bad chunk framing is malformed, in a stream and in a whole body") {
  ScriptedServer server(
      {{"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        true}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.error.message.find("bad chunked body") != std::string::npos);
  ScriptedServer whole(
      {{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
        true}});
  Client w(whole.url());
  out = w.Run(Body(false), false);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.error.message.find("chunk data longer than its size") != std::string::npos);
}

TEST_CASE("bytes after a response keep its connection out of the pool") {
  ScriptedServer server({{RawResponse(200, "application/json", kCompletion) + "HTTP/1.1 200"}});
  Client c(server.url());
  REQUIRE(c.Run(Body(false), false).ok());
  CHECK(c.client->idle_connections() == 0);
  ChatOutcome second = c.Run(Body(false), false);
  REQUIRE_MESSAGE(second.ok(), second.error.message);
  CHECK(server.connections() == 2);
}

TEST_CASE(
    "events before bad framing are delivered, and bad bytes after [DONE] only drop the "
    "connection") {
  ScriptedServer before({{RawStream(ContentEvent("hi"), false) + "zz\r\n"}});
  Client b(before.url());
  ChatOutcome out = b.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.error.message.find("bad chunked body") != std::string::npos);
  CHECK(out.text == "hi");
  CHECK(out.error.after_first_token);

  ScriptedServer after({{RawStream(ContentEvent("hi") + "data: [DONE]\n\n", false) + "zz\r\n"}});
  Client a(after.url());
  out = a.Run(Body(true), true);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.text == "hi");
  CHECK(a.client->idle_connections() == 0);
}

TEST_CASE("a connection closed in the middle of the response head is malformed, not refused") {
  ScriptedServer server({{"HTTP/1.1 200 OK\r\nContent-Ty", true}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.error.message.find("in the middle of its response head") != std::string::npos);
}

TEST_CASE("a response head larger than the limit is malformed") {
  ScriptedServer server(
      {{"HTTP/1.1 200 OK\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", true}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(false), false);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.error.message.find("larger than") != std::string::npos);
}

TEST_CASE("error status: kind, status and the server's code") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("status=503"));
  Client c(modeld.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kErrorStatus);
  CHECK(out.error.http_status == 503);
  CHECK(out.error.code == "simulated_503");
  CHECK_FALSE(out.error.after_first_token);
  // The error response was complete: its connection goes back to the pool.
  CHECK(c.client->idle_connections() == 1);
}

TEST_CASE("a server that closes without answering is refused") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("refuse"));
  Client c(modeld.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kRefused);
}

TEST_CASE("nothing listening is refused") {
  const testing::RefusingPort nothing_listening;
  Client c(nothing_listening.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kRefused);
  CHECK(out.error.message.find("cannot connect") != std::string::npos);
}

TEST_CASE("stall before the first token is no_first_token") {
  ModeldFixture modeld;
  Client c(modeld.url());
  ChatOutcome out = c.Run(Body(true), true, Short());
  REQUIRE(out.ok());  // control: the same server answers normally
  modeld.server().SetFault(*ParseFaultSpec("stall-after=0"));
  Timeouts t = Short();
  t.first_token = 1s;
  out = c.Run(Body(true), true, t);
  CHECK(out.error.kind == ErrorKind::kNoFirstToken);
  CHECK_FALSE(out.error.after_first_token);
  CHECK(out.content_chunks == 0);
}

TEST_CASE("stall after the first token is stalled, with the partial text kept") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("stall-after=3"));
  Client c(modeld.url());
  Timeouts t = Short();
  t.between_chunks = 1s;
  const std::string body = Body(true, 10);
  ChatOutcome out = c.Run(body, true, t);
  CHECK(out.error.kind == ErrorKind::kStalled);
  CHECK(out.error.after_first_token);
  CHECK(out.content_chunks == 3);
  CHECK(Expected(body, 10).starts_with(out.text));
}

TEST_CASE("a connection dropped mid-stream is disconnected") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("drop-after=2"));
  Client c(modeld.url());
  ChatOutcome out = c.Run(Body(true, 10), true);
  CHECK(out.error.kind == ErrorKind::kDisconnected);
  CHECK(out.error.after_first_token);
  CHECK(out.content_chunks == 2);
  CHECK(c.client->idle_connections() == 0);
}

TEST_CASE("a malformed event is malformed") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("bad-sse"));
  Client c(modeld.url());
  ChatOutcome out = c.Run(Body(true, 10), true);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.error.after_first_token);
}

TEST_CASE("the total deadline cuts a slow stream") {
  ModeldFixture modeld;
  modeld.server().SetFault(*ParseFaultSpec("slow-ms=100"));
  Client c(modeld.url());
  Timeouts t = Short();
  t.total = 1500ms;  // 50 tokens 100 ms apart take 5 s
  ChatOutcome out = c.Run(Body(true, 50), true, t);
  CHECK(out.error.kind == ErrorKind::kDeadline);
  CHECK(out.content_chunks >= 1);
  CHECK(out.content_chunks < 50);
}

TEST_CASE("a stream ending without [DONE] or finish reason is malformed") {
  ScriptedServer server({{RawStream(ContentEvent("a") + ContentEvent("b"))}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kMalformed);
  CHECK(out.text == "ab");
}

TEST_CASE("a stream with a finish reason but no [DONE] is complete") {
  ScriptedServer server({{RawStream(
      ContentEvent("a") +
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.finish_reason == "stop");
}

TEST_CASE("CRLF events, comments and a missing final newline are understood") {
  ScriptedServer server(
      {{RawStream(": hello\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":"
                  "\"x\"}}]}\r\n\r\ndata: [DONE]")}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.text == "x");
}

TEST_CASE("the gateway's budget event is budget, after the first token") {
  ScriptedServer server({{RawStream(
      ContentEvent("a") +
      "event: error\ndata: {\"error\":{\"type\":\"partita_budget\",\"code\":\"budget_exceeded\","
      "\"message\":\"device budget spent\"}}\n\n")}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kBudget);
  CHECK(out.error.code == "budget_exceeded");
  CHECK(out.error.after_first_token);
  CHECK(out.text == "a");
}

TEST_CASE("other error events are stream errors") {
  ScriptedServer server({{RawStream(
      ContentEvent("a") +
      "event: error\ndata: {\"error\":{\"type\":\"partita_upstream\",\"code\":\"upstream_failed\","
      "\"message\":\"stalled\"}}\n\n")}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kStreamError);
  CHECK(out.error.code == "upstream_failed");
}

TEST_CASE("a 429 with code budget_exceeded is budget") {
  ScriptedServer server({{RawResponse(
      429, "application/json",
      R"({"error":{"type":"partita_budget","code":"budget_exceeded","message":"spent"}})")}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK(out.error.kind == ErrorKind::kBudget);
  CHECK(out.error.http_status == 429);
}

TEST_CASE("garbage instead of HTTP is malformed or refused, never ok") {
  ScriptedServer server({{"SSH-2.0-OpenSSH_9.2\r\n", true}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(true), true);
  CHECK_FALSE(out.ok());
  CHECK((out.error.kind == ErrorKind::kMalformed || out.error.kind == ErrorKind::kRefused));
}

TEST_CASE("a non-JSON 200 body is malformed") {
  ScriptedServer server({{RawResponse(200, "application/json", "<html>oops</html>")}});
  Client c(server.url());
  ChatOutcome out = c.Run(Body(false), false);
  CHECK(out.error.kind == ErrorKind::kMalformed);
}

TEST_CASE("URLs: base, full endpoint and bad ones") {
  net::asio::io_context io;
  ClientConfig c;
  c.url = "ftp://x/v1";
  CHECK_FALSE(ChatClient::Create(io.get_executor(), c).ok());
  c.url = "http://127.0.0.1:8080/v1?x=1";
  CHECK_FALSE(ChatClient::Create(io.get_executor(), c).ok());
  c.url = "http://127.0.0.1:8080/v1/chat/completions";
  auto full = ChatClient::Create(io.get_executor(), c);
  REQUIRE(full.ok());
  CHECK((*full)->authority() == "127.0.0.1:8080");
  c.url = "http://localhost/v1";
  auto base = ChatClient::Create(io.get_executor(), c);
  REQUIRE(base.ok());
  CHECK((*base)->authority() == "localhost");
  c.url = "http://127.0.0.1:1/v1";
  c.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  CHECK_FALSE(ChatClient::Create(io.get_executor(), c).ok());
}

TEST_CASE("the request body reaches the server byte for byte") {
  ScriptedServer server({{RawResponse(
      200, "application/json",
      R"({"choices":[{"index":0,"message":{"content":"ok"},"finish_reason":"stop"}]})")}});
  Client c(server.url());
  const std::string body = Body(false, 3, "exact bytes");
  REQUIRE(c.Run(body, false).ok());
  std::optional<std::string> seen = server.bodies.Pop();
  REQUIRE(seen);
  CHECK(*seen == body);
}

}  // namespace
}  // namespace partita::backends
