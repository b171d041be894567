// What bounds a request's cost and lifetime at the gateway: a per-model max_tokens for requests
// that set none (and a clear 400 for a bad one), a device that leaves cancelling its upstream
// work and returning its reservation, and concurrent streams that cannot overspend a budget
// by more than one event each. Over real sockets, with modeld and scripted upstreams.
#include <boost/asio/write.hpp>
#include <thread>

#include "tests/cloud_gateway/gateway_fixture.h"

namespace partita::cloud_gateway {
namespace {

using namespace testing;
using backends::testing::ModeldFixture;

std::string ChatJson(const std::string& max_tokens_field, bool stream = false) {
  return R"({"model":"milm-70b-moe","messages":[{"role":"user","content":"hi"}])" +
         std::string(stream ? R"(,"stream":true)" : "") + max_tokens_field + "}";
}

TEST_CASE("a request without max_tokens gets the model's, a bad one is refused with 400") {
  ModeldFixture modeld;
  GatewayFixture gw(R"(budgets: {device_usd_per_day: 2}
timeouts: {first_token_ms: 5000, between_chunks_ms: 5000}
models:
  - name: milm-70b-moe
    max_tokens: 6
    price: {input_usd_per_1m_tokens: 0, output_usd_per_1m_tokens: 1000}
    upstreams: [{name: only, url: ")" +
                    Url(modeld) + "\"}]\n");
  const std::uint16_t port = gw.gateway().plaintext_port();
  const std::vector<std::pair<std::string, std::string>> as_bench = {{"X-Partita-Device", "bench"}};

  // No max_tokens: the model's 6, reserved and then charged as used; the budget is not locked.
  auto res = Exchange(port, beast_http::verb::post, "/v1/chat/completions", ChatJson(""), as_bench);
  REQUIRE(res.result_int() == 200);
  Result<backends::CompletionInfo> answer = backends::ParseCompletion(res.body());
  REQUIRE(answer.ok());
  REQUIRE(answer->usage.has_value());
  CHECK(answer->usage->completion_tokens == 6);
  CHECK(gw.WaitDone().cost_usd == doctest::Approx(0.006));
  // More than the model allows: capped to it.
  res = Exchange(port, beast_http::verb::post, "/v1/chat/completions",
                 ChatJson(R"(,"max_tokens":500)"), as_bench);
  REQUIRE(res.result_int() == 200);
  CHECK(backends::ParseCompletion(res.body())->usage->completion_tokens == 6);
  gw.WaitDone();

  for (const char* bad : {R"(,"max_tokens":"lots")", R"(,"max_tokens":0)", R"(,"max_tokens":-3)",
                          R"(,"max_tokens":2.5)", R"(,"max_tokens":true)", R"(,"max_tokens":1e300)",
                          R"(,"max_completion_tokens":[1])"}) {
    CAPTURE(bad);
    res = Exchange(port, beast_http::verb::post, "/v1/chat/completions", ChatJson(bad), as_bench);
    CHECK(res.result_int() == 400);
    CHECK(res.body().find("\\\"max_tokens\\\" must be a whole number from 1") != std::string::npos);
  }
  // null means "not set".
  res = Exchange(port, beast_http::verb::post, "/v1/chat/completions",
                 ChatJson(R"(,"max_tokens":null)"), as_bench);
  CHECK(res.result_int() == 200);
  CHECK(modeld.server().stats().requests.load() == 3);
}

// A request written on a raw plaintext connection, left open until Close().
class OpenRequest {
 public:
  OpenRequest(std::uint16_t port, const std::string& body) : socket_(io_) {
    socket_.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), port));
    const std::string raw =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Partita-Device: leaver\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    net::asio::write(socket_, net::asio::buffer(raw));
  }
  void Close() { socket_.close(); }

 private:
  net::asio::io_context io_;
  net::tcp::socket socket_;
};

// Waits (bounded) until `predicate` holds; false if it never does within 10 s.
template <typename Predicate>
bool WaitFor(Predicate predicate) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST_CASE("a device that leaves cancels its request upstream and its reservation comes back") {
  ModeldFixture modeld;
  modeld.server().SetFault(*modeld::ParseFaultSpec("stall-after=0"));  // never answers
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)), "budgets: {fleet_usd_per_day: 50}\n"));
  for (const bool stream : {false, true}) {
    CAPTURE(stream);
    const std::uint64_t abandoned = modeld.server().stats().abandoned.load();
    const std::uint64_t requests = modeld.server().stats().requests.load();
    OpenRequest request(gw.gateway().plaintext_port(), ChatJson("", stream));
    // The request reached the upstream (its budget was reserved before).
    REQUIRE(WaitFor([&] { return modeld.server().stats().requests.load() == requests + 1; }));
    // While it waits, the model's default max_tokens (4096 at $1000 per 1M) is reserved, not the
    // whole budget.
    CHECK(gw.gateway().health().fleet_budget_left_usd == doctest::Approx(50 - 4.096));
    request.Close();
    Done d = gw.WaitDone();  // long before any upstream timeout
    CHECK(d.outcome == "client_gone");
    CHECK(d.cost_usd == 0);
    CHECK(gw.gateway().health().fleet_budget_left_usd == doctest::Approx(50));
    // The gateway closed its upstream connection: modeld saw the request abandoned.
    CHECK(WaitFor([&] { return modeld.server().stats().abandoned.load() == abandoned + 1; }));
  }
  // The upstream is healthy: a cancelled request is not its failure.
  CHECK(gw.gateway().health().healthy);
  CHECK(gw.gateway().MetricsText().find("failures_total{upstream=\"only\"") == std::string::npos);
  modeld.server().SetFault({});
  CHECK(gw.Ask(Body(false, 2), false).ok());
}

TEST_CASE("a partial request head is dropped after the head timeout, not the idle one") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)),
                             "clients: {idle_timeout_ms: 60000, head_timeout_ms: 300}\n"));
  net::asio::io_context io;
  net::tcp::socket socket(io);
  socket.connect(
      net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), gw.gateway().plaintext_port()));
  net::asio::write(socket,
                   net::asio::buffer(std::string("POST /v1/chat/completions HTTP/1.1\r\n")));
  const auto start = std::chrono::steady_clock::now();
  char byte;
  net::error_code ec;
  socket.read_some(net::asio::buffer(&byte, 1), ec);  // returns when the gateway closes it
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(ec == net::asio::error::eof);
  CHECK(waited < 30s);  // the head timeout, not the 60 s idle timeout
  CHECK(gw.gateway().MetricsText().find("bad_requests_total{reason=\"client_timeout\"} 1") !=
        std::string::npos);
}

TEST_CASE("per-device rate limits refuse with 429 and Retry-After, counted by limit") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)),
                             "rate_limits: {requests_per_minute: 2, devices: {car: "
                             "{tokens_per_minute: 50}}}\n"));
  const std::uint16_t port = gw.gateway().plaintext_port();
  auto ask = [&](const std::string& device, int max_tokens) {
    return Exchange(port, beast_http::verb::post, "/v1/chat/completions", Body(false, max_tokens),
                    {{"X-Partita-Device", device}});
  };
  CHECK(ask("speaker", 3).result_int() == 200);
  CHECK(ask("speaker", 3).result_int() == 200);
  auto limited = ask("speaker", 3);
  CHECK(limited.result_int() == 429);
  CHECK(limited.body().find("rate_limit_exceeded") != std::string::npos);
  CHECK(limited.body().find("2 requests per minute") != std::string::npos);
  const int retry_after = std::stoi(std::string(limited[beast_http::field::retry_after]));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 30);  // one request refills in 30 s at 2 a minute

  // The car's tokens: 40 answer tokens and the prompt fit in 50 once, not twice.
  CHECK(ask("car", 40).result_int() == 200);
  auto tokens = ask("car", 40);
  CHECK(tokens.result_int() == 429);
  CHECK(tokens.body().find("50 tokens per minute") != std::string::npos);

  const std::string m = gw.gateway().MetricsText();
  CHECK(m.find("rate_limited_total{limit=\"requests_per_minute\"} 1") != std::string::npos);
  CHECK(m.find("rate_limited_total{limit=\"tokens_per_minute\"} 1") != std::string::npos);
  CHECK(modeld.server().stats().requests.load() == 3);
}

// `streams` devices each stream 40 tokens at once from an upstream that ignores max_tokens, one
// event per token, against a device budget of 0.05 USD at $1000 per 1M output tokens (50
// tokens). Returns the spend the ledger recorded per device (USD).
std::vector<double> ConcurrentSpend(int streams) {
  std::string events;
  for (int i = 0; i < 40; ++i) events += backends::testing::ContentEvent("x");
  events += "data: [DONE]\n\n";
  backends::testing::ScriptedServer upstream({{backends::testing::RawStream(events)}});
  GatewayFixture gw(OneModel(Upstream("only", upstream.url()),
                             "budgets: {device_usd_per_day: 0.05}\ncapacity: 1024\n"));
  std::vector<std::thread> threads;
  const std::vector<std::string> devices = {"speaker", "car"};
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] { gw.Ask(Body(true, 40), true, devices[i % 2]); });
  }
  for (auto& t : threads) t.join();
  std::map<std::string, double> spend;
  for (int i = 0; i < streams; ++i) {
    Done d = gw.WaitDone();
    spend[d.device] += d.cost_usd;
  }
  return {spend["speaker"], spend["car"]};
}

TEST_CASE("concurrent streams overspend a budget by at most one event each, counted") {
  for (const int streams : {30, 64}) {
    CAPTURE(streams);
    const std::vector<double> spend = ConcurrentSpend(streams);
    for (const double usd : spend) {
      // Each stream reserves its 40 tokens first, so one stream fits in 0.05 USD and the others
      // are refused or capped; an event past a reservation is charged before it is dropped.
      CHECK(usd <= 0.05 + (streams / 2) * 0.001 + 1e-9);
      CHECK(usd >= 0.04 - 1e-9);
      MESSAGE(streams, " streams: ", usd, " USD against a 0.05 USD budget");
    }
  }
}

}  // namespace
}  // namespace partita::cloud_gateway
