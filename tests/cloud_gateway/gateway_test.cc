// The gateway over real sockets: mutual TLS, modeld upstreams with faults, budgets, the ledger,
// bad input, backpressure, health and drain. Completion is observed through the gateway's
// request_done hook, never by sleeping.
#include "tests/cloud_gateway/gateway_fixture.h"

namespace partita::cloud_gateway {
namespace {

using namespace testing;
using namespace std::chrono_literals;
namespace beast_http = net::beast::http;
using backends::ChatOutcome;
using backends::ErrorKind;
using backends::testing::ModeldFixture;
using partita::testing::EventQueue;

TEST_CASE("streaming and non-streaming pass through over mutual TLS, the ledger matches") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("primary", Url(modeld))));

  const std::string sbody = Body(true, 7);
  std::vector<std::string> deltas;
  ChatOutcome s =
      gw.Ask(sbody, true, "speaker", [&](std::string_view d) { deltas.emplace_back(d); });
  REQUIRE_MESSAGE(s.ok(), s.error.message);
  CHECK(s.text == Expected(sbody, 7));
  CHECK(deltas.size() == 7);
  CHECK(s.simulated);
  CHECK(s.model == "milm-7b-moe (simulated)");
  REQUIRE(s.usage);
  CHECK(s.usage->completion_tokens == 7);
  Done d1 = gw.WaitDone();
  CHECK(d1.device == "speaker");
  CHECK(d1.outcome == "ok");
  CHECK(d1.upstream == "primary");
  CHECK(d1.usage_from_upstream);
  CHECK(d1.completion_tokens == 7);
  CHECK(d1.counted_completion_tokens == 7);
  CHECK(d1.cost_usd == doctest::Approx(7 * 0.001));

  const std::string jbody = Body(false, 5);
  ChatOutcome j = gw.Ask(jbody, false, "car");
  REQUIRE_MESSAGE(j.ok(), j.error.message);
  CHECK(j.text == Expected(jbody, 5));
  CHECK(j.simulated);
  Done d2 = gw.WaitDone();
  CHECK(d2.device == "car");
  CHECK(d2.completion_tokens == 5);

  REQUIRE(gw.gateway().FlushLedger().ok());
  auto db = storage::Database::Open(gw.ledger());
  REQUIRE(db.ok());
  CHECK(*(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests WHERE outcome = 'ok'") == 2);
  CHECK(*(*db)->QueryInt("SELECT SUM(completion_tokens) FROM gateway_requests") == 12);
  CHECK(*(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests WHERE device = 'speaker' AND "
                         "stream = 1 AND usage_source = 'upstream' AND upstream = 'primary'") == 1);
  // Prompts and answers are never stored.
  const std::string bytes = FileBytes(gw.ledger()) + FileBytes(gw.ledger() + "-wal");
  CHECK(bytes.find("zebra-quartz") == std::string::npos);
  CHECK(bytes.find("[simulated]") == std::string::npos);

  const std::string metrics = gw.gateway().MetricsText();
  CHECK(metrics.find("partita_gateway_requests_total{model=\"milm-70b-moe\",outcome=\"ok\"} 2") !=
        std::string::npos);
  CHECK(metrics.find("partita_gateway_tokens_total{model=\"milm-70b-moe\",direction=\"out\"} 12") !=
        std::string::npos);
}

TEST_CASE("an upstream answering 503 is retried before the first token, then ejected") {
  ModeldFixture bad;
  bad.server().SetFault(*modeld::ParseFaultSpec("status=503"));
  ModeldFixture good;
  GatewayFixture gw(
      OneModel(Upstream("primary", Url(bad), 0) + Upstream("secondary", Url(good), 1)));
  for (int i = 0; i < 5; ++i) {
    ChatOutcome out = gw.Ask(Body(i % 2 == 0, 3), i % 2 == 0);
    REQUIRE_MESSAGE(out.ok(), out.error.message);
    Done d = gw.WaitDone();
    CHECK(d.attempts == 2);
    CHECK(d.upstream == "secondary");
    CHECK(std::string(d.error_kind) == "error_status");
  }
  CHECK(bad.server().stats().requests.load() == 5);
  const std::string health = gw.gateway().HealthJson();
  CHECK(health.find("\"name\":\"primary\",\"priority\":0,\"available\":false") !=
        std::string::npos);
  CHECK(gw.gateway().health().healthy);  // the secondary still serves

  // Ejected: the next request goes straight to the secondary.
  REQUIRE(gw.Ask(Body(true, 3), true).ok());
  Done d = gw.WaitDone();
  CHECK(d.attempts == 1);
  CHECK(bad.server().stats().requests.load() == 5);
  CHECK(good.server().stats().requests.load() == 6);
  const std::string metrics = gw.gateway().MetricsText();
  CHECK(metrics.find("partita_gateway_upstream_ejections_total{model=\"milm-70b-moe\","
                     "upstream=\"primary\"} 1") != std::string::npos);
  CHECK(metrics.find("partita_gateway_retries_total 5") != std::string::npos);
}

TEST_CASE("a refusing upstream and one that is down are retried on the next") {
  ModeldFixture refusing;
  refusing.server().SetFault(*modeld::ParseFaultSpec("refuse"));
  ModeldFixture good;
  const backends::testing::RefusingPort nothing_listening;
  const std::string down = nothing_listening.url();
  GatewayFixture gw(OneModel(Upstream("refusing", Url(refusing), 0) + Upstream("down", down, 1) +
                             Upstream("good", Url(good), 2)));
  ChatOutcome out = gw.Ask(Body(true, 4), true);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  Done d = gw.WaitDone();
  CHECK(d.attempts == 3);
  CHECK(d.upstream == "good");
  CHECK(std::string(d.error_kind) == "refused");
}

TEST_CASE("a stall before the first token moves the request to the next upstream") {
  ModeldFixture stalling;
  stalling.server().SetFault(*modeld::ParseFaultSpec("stall-after=0"));
  ModeldFixture good;
  GatewayFixture gw(OneModel(
      Upstream("stalling", Url(stalling), 0) + Upstream("good", Url(good), 1), "", kStallTimeouts));
  const std::string body = Body(true, 6);
  ChatOutcome out = gw.Ask(body, true);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.text == Expected(body, 6));
  Done d = gw.WaitDone();
  CHECK(d.attempts == 2);
  CHECK(std::string(d.error_kind) == "no_first_token");
}

TEST_CASE("a stall after the first token ends the stream with upstream_failed, never retried") {
  ModeldFixture stalling;
  stalling.server().SetFault(*modeld::ParseFaultSpec("stall-after=2"));
  ModeldFixture spare;
  GatewayFixture gw(
      OneModel(Upstream("stalling", Url(stalling), 0) + Upstream("spare", Url(spare), 1), "",
               kStallTimeouts));
  const std::string body = Body(true, 10);
  ChatOutcome out = gw.Ask(body, true);
  CHECK(out.error.kind == ErrorKind::kStreamError);
  CHECK(out.error.code == "upstream_failed");
  CHECK(out.error.after_first_token);
  CHECK(out.content_chunks == 2);
  CHECK(Expected(body, 10).starts_with(out.text));
  Done d = gw.WaitDone();
  CHECK(d.outcome == "upstream_failed");
  CHECK(d.attempts == 1);
  CHECK(std::string(d.error_kind) == "stalled");
  CHECK_FALSE(d.usage_from_upstream);
  CHECK(d.counted_completion_tokens == 2);
  CHECK(d.cost_usd == doctest::Approx(2 * 0.001));
  CHECK(spare.server().stats().requests.load() == 0);
}

TEST_CASE("bad SSE and a dropped connection after the first token end with upstream_failed") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  modeld.server().SetFault(*modeld::ParseFaultSpec("bad-sse"));
  ChatOutcome out = gw.Ask(Body(true, 10), true);
  CHECK(out.error.code == "upstream_failed");
  CHECK(std::string(gw.WaitDone().error_kind) == "malformed");
  modeld.server().SetFault(*modeld::ParseFaultSpec("drop-after=3"));
  out = gw.Ask(Body(true, 10), true);
  CHECK(out.error.code == "upstream_failed");
  CHECK(out.content_chunks == 3);
  CHECK(std::string(gw.WaitDone().error_kind) == "disconnected");
}

TEST_CASE("usage missing upstream: counted tokens are metered") {
  ModeldFixture modeld;
  modeld.server().SetFault(*modeld::ParseFaultSpec("no-usage"));
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  ChatOutcome out = gw.Ask(Body(true, 9), true);
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  Done d = gw.WaitDone();
  CHECK_FALSE(d.usage_from_upstream);
  CHECK(d.completion_tokens == 9);
  CHECK(d.cost_usd == doctest::Approx(9 * 0.001));
}

TEST_CASE("a stream is capped at what the budget affords, then refused before the start") {
  ModeldFixture modeld;
  // $0.001 per output token; the speaker may spend $0.005 a day: five tokens.
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)),
                             "budgets: {device_usd_per_day: 1, devices: {speaker: 0.005}}\n"));
  const std::string body = Body(true, 20);
  ChatOutcome capped = gw.Ask(body, true);
  REQUIRE_MESSAGE(capped.ok(), capped.error.message);
  CHECK(capped.content_chunks == 5);
  CHECK(capped.finish_reason == "length");
  Done d = gw.WaitDone();
  CHECK(d.outcome == "ok");
  CHECK(d.cost_usd == doctest::Approx(0.005));

  ChatOutcome refused = gw.Ask(Body(false, 3), false);
  CHECK(refused.error.kind == ErrorKind::kBudget);
  CHECK(refused.error.http_status == 429);
  CHECK(refused.error.message.find("speaker") != std::string::npos);
  Done r = gw.WaitDone();
  CHECK(r.outcome == "budget_refused");
  CHECK(r.cost_usd == 0);
  CHECK(modeld.server().stats().requests.load() == 1);

  // Another device is unaffected.
  CHECK(gw.Ask(Body(true, 3), true, "car").ok());
  const std::string metrics = gw.gateway().MetricsText();
  CHECK(metrics.find("budget_refusals_total{scope=\"device\",phase=\"before\"} 1") !=
        std::string::npos);
}

TEST_CASE("an upstream that ignores the capped max_tokens is cut at the budget, one event over") {
  // Ten events whatever max_tokens says.
  std::string events;
  for (int i = 0; i < 10; ++i) events += backends::testing::ContentEvent("t" + std::to_string(i));
  events += "data: [DONE]\n\n";
  backends::testing::ScriptedServer upstream({{backends::testing::RawStream(events)}});
  GatewayFixture gw(OneModel(Upstream("only", upstream.url()),
                             "budgets: {device_usd_per_day: 1, devices: {speaker: 0.005}}\n"));
  ChatOutcome cut = gw.Ask(Body(true, 20), true);
  CHECK(cut.error.kind == ErrorKind::kBudget);
  CHECK(cut.error.code == "budget_exceeded");
  CHECK(cut.error.after_first_token);
  CHECK(cut.content_chunks == 5);
  CHECK(cut.text == "t0t1t2t3t4");
  Done d = gw.WaitDone();
  CHECK(d.outcome == "budget_exceeded");
  CHECK(d.cost_usd == doctest::Approx(6 * 0.001));  // the sixth event was produced, not sent
  // The upstream was told the cap.
  std::optional<std::string> sent = upstream.bodies.Pop(5s);
  REQUIRE(sent);
  CHECK(sent->find("\"max_tokens\":5") != std::string::npos);
  CHECK(gw.gateway().MetricsText().find(
            "budget_refusals_total{scope=\"device\",phase=\"during\"} 1") != std::string::npos);
}

TEST_CASE("the fleet budget caps whichever device reaches it") {
  ModeldFixture modeld;
  GatewayFixture gw(
      OneModel(Upstream("only", Url(modeld)), "budgets: {fleet_usd_per_day: 0.004}\n"));
  REQUIRE(gw.Ask(Body(true, 3), true, "speaker").ok());
  gw.WaitDone();
  ChatOutcome out = gw.Ask(Body(true, 5), true, "car");  // $0.001 left: one token
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.content_chunks == 1);
  CHECK(gw.WaitDone().outcome == "ok");
  CHECK(gw.gateway().health().fleet_budget_left_usd == 0.0);
  ChatOutcome refused = gw.Ask(Body(true, 5), true, "speaker");
  CHECK(refused.error.kind == ErrorKind::kBudget);
  CHECK(refused.error.message.find("fleet") != std::string::npos);
}

TEST_CASE("a whole answer is capped at what the budget left affords, never past it") {
  ModeldFixture modeld;
  // $0.001 per output token; the speaker may spend $0.005 a day: five tokens.
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)),
                             "budgets: {device_usd_per_day: 1, devices: {speaker: 0.005}}\n"));
  ChatOutcome capped = gw.Ask(Body(false, 40), false);
  REQUIRE(capped.ok());
  CHECK(capped.finish_reason == "length");
  REQUIRE(capped.usage.has_value());
  CHECK(capped.usage->completion_tokens == 5);
  Done d = gw.WaitDone();
  CHECK(d.outcome == "ok");
  CHECK(d.cost_usd == doctest::Approx(0.005));

  // Nothing is left for even one token: refused before the upstream is asked.
  ChatOutcome refused = gw.Ask(Body(false, 40), false);
  CHECK(refused.error.kind == ErrorKind::kBudget);
  CHECK(refused.error.http_status == 429);
  CHECK(gw.WaitDone().outcome == "budget_refused");
  CHECK(modeld.server().stats().requests.load() == 1);
}

TEST_CASE("spending survives a restart: budgets are restored from the ledger") {
  ModeldFixture modeld;
  GatewayFixture gw(
      OneModel(Upstream("only", Url(modeld)), "budgets: {devices: {speaker: 0.004}}\n"));
  REQUIRE(gw.Ask(Body(true, 4), true).ok());  // $0.004: the whole budget
  CHECK(gw.WaitDone().cost_usd == doctest::Approx(0.004));
  gw.Restart();
  ChatOutcome refused = gw.Ask(Body(true, 2), true);
  CHECK(refused.error.kind == ErrorKind::kBudget);
  CHECK(refused.error.http_status == 429);
  CHECK(gw.WaitDone().outcome == "budget_refused");
  CHECK(gw.Ask(Body(true, 2), true, "car").ok());
}

TEST_CASE("a foreign certificate is refused and counted, good devices are unaffected") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  // A device certificate from another CA (the device trusts the real gateway).
  net::TlsFiles files = net::DeviceTlsFiles(gw.foreign_pki(), "speaker");
  files.ca_file = gw.pki() + "/ca.crt";
  ChatOutcome foreign = gw.AskWith(files, Body(true, 3), true);
  CHECK(foreign.error.kind == ErrorKind::kRefused);
  std::optional<net::HandshakeFailure> why = gw.refused.Pop(10s);
  REQUIRE(why);
  CHECK(*why == net::HandshakeFailure::kUntrustedCertificate);
  CHECK(gw.Ask(Body(true, 3), true).ok());
  const std::string metrics = gw.gateway().MetricsText();
  CHECK(metrics.find("tls_refusals_total{reason=\"untrusted_certificate\"} 1") !=
        std::string::npos);
  CHECK(modeld.server().stats().requests.load() == 1);

  // No certificate at all (a client that trusts the gateway but presents none).
  {
    backends::ClientConfig c;
    c.url = "https://127.0.0.1:" + std::to_string(gw.gateway().tls_port()) + "/v1";
    auto ctx = backends::MakePublicTlsContext(gw.pki() + "/ca.crt");
    REQUIRE(ctx.ok());
    c.tls = *ctx;
    net::asio::io_context io;
    auto client = backends::ChatClient::Create(io.get_executor(), c);
    REQUIRE(client.ok());
    ChatOutcome none = RunCoroutine(io, backends::Complete(**client, Body(true, 3), true, {}));
    CHECK(none.error.kind == ErrorKind::kRefused);
    std::optional<net::HandshakeFailure> missing = gw.refused.Pop(10s);
    REQUIRE(missing);
    CHECK(*missing == net::HandshakeFailure::kNoCertificate);
  }

  // Plain HTTP on the TLS port is refused as not TLS.
  auto res = Exchange(gw.gateway().tls_port(), beast_http::verb::get, "/v1/models", "");
  CHECK(res.result_int() != 200);
  std::optional<net::HandshakeFailure> not_tls = gw.refused.Pop(10s);
  REQUIRE(not_tls);
  CHECK(*not_tls == net::HandshakeFailure::kNotTls);
}

TEST_CASE("a router certificate may read health but not ask for completions") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  ChatOutcome out = gw.Ask(Body(false, 3), false, "router");
  CHECK(out.error.kind == ErrorKind::kErrorStatus);
  CHECK(out.error.http_status == 403);
  CHECK(modeld.server().stats().requests.load() == 0);
}

TEST_CASE("a revoked device is refused, and editing the revoked list takes effect while serving") {
  ModeldFixture modeld;
  const std::string models = OneModel(Upstream("only", Url(modeld)), "config_poll_ms: 20\n");
  GatewayFixture gw(models + "revoked: [car]\n", "bench", /*from_file=*/true);
  ChatOutcome car = gw.Ask(Body(true, 3), true, "car");
  CHECK(car.error.kind == ErrorKind::kErrorStatus);
  CHECK(car.error.http_status == 403);
  CHECK(car.error.message.find("device 'car' is revoked") != std::string::npos);
  CHECK(gw.Ask(Body(true, 3), true, "speaker").ok());  // others are unaffected
  CHECK(modeld.server().stats().requests.load() == 1);
  CHECK(gw.gateway().MetricsText().find("bad_requests_total{reason=\"revoked\"} 1") !=
        std::string::npos);
  // The plaintext front checks the same list, whichever way the device is named.
  auto res = Exchange(gw.gateway().plaintext_port(), beast_http::verb::post, "/v1/chat/completions",
                      Body(false, 3), {{"X-Partita-Device", "car"}});
  CHECK(res.result_int() == 403);

  // A changed file that does not load keeps the list as it was.
  gw.RewriteConfig(models + "threads: lots\n");
  std::optional<Status> bad = gw.reloads.Pop(10s);
  REQUIRE(bad);
  CHECK_FALSE(bad->ok());
  CHECK(gw.Ask(Body(false, 3), false, "car").error.http_status == 403);

  // Revoking other devices and un-revoking car take effect without a restart, also on a
  // connection kept alive across the change (here the plaintext front's default device).
  net::asio::io_context io;
  net::tcp::socket kept(io);
  kept.connect(
      net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), gw.gateway().plaintext_port()));
  auto post = [&] {
    beast_http::request<beast_http::string_body> req(beast_http::verb::post, "/v1/chat/completions",
                                                     11);
    req.set(beast_http::field::host, "127.0.0.1");
    req.keep_alive(true);
    req.body() = Body(false, 3);
    req.prepare_payload();
    beast_http::write(kept, req);
    net::beast::flat_buffer buffer;
    beast_http::response<beast_http::string_body> answer;
    beast_http::read(kept, buffer, answer);
    return answer;
  };
  CHECK(post().result_int() == 200);
  gw.RewriteConfig(models + "revoked: [speaker, bench]  # car is back\n");
  std::optional<Status> good = gw.reloads.Pop(10s);
  REQUIRE(good);
  CHECK(good->ok());
  const auto refused = post();
  CHECK(refused.result_int() == 403);
  CHECK(refused.body().find("device_revoked") != std::string::npos);
  CHECK(gw.Ask(Body(false, 3), false, "speaker").error.http_status == 403);
  CHECK(gw.Ask(Body(false, 3), false, "car").ok());
}

TEST_CASE("bad input gets a clear error and the gateway keeps serving") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)), "max_body_bytes: 2048\n"), "");
  const std::uint16_t port = gw.gateway().plaintext_port();
  const std::vector<std::pair<std::string, std::string>> as_bench = {{"X-Partita-Device", "bench"}};
  auto res =
      Exchange(port, beast_http::verb::post, "/v1/chat/completions", "{\"model\":", as_bench);
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("not valid JSON") != std::string::npos);
  res = Exchange(port, beast_http::verb::post, "/v1/chat/completions", Body(false, 2, "gpt-9"),
                 as_bench);
  CHECK(res.result_int() == 404);
  CHECK(res.body().find("it serves: milm-70b-moe") != std::string::npos);
  res = Exchange(port, beast_http::verb::post, "/v1/chat/completions", std::string(4096, '{'),
                 as_bench);
  CHECK(res.result_int() == 413);
  res = Exchange(port, beast_http::verb::post, "/v1/chat/completions", Body(false, 2));
  CHECK(res.result_int() == 401);
  res = Exchange(port, beast_http::verb::get, "/v1/chat/completions", "", as_bench);
  CHECK(res.result_int() == 405);
  res = Exchange(port, beast_http::verb::get, "/nope", "", as_bench);
  CHECK(res.result_int() == 404);
  res = Exchange(port, beast_http::verb::post, "/v1/chat/completions", Body(false, 2),
                 {{"X-Partita-Device", "bad id with spaces"}});
  CHECK(res.result_int() == 400);

  // Garbage that is not HTTP.
  {
    net::asio::io_context io;
    net::tcp::socket s(io);
    s.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), port));
    const std::string junk = "\x16\x03\x01 not http at all\r\n\r\n";
    net::asio::write(s, net::asio::buffer(junk));
    std::string reply(256, '\0');
    net::error_code ec;
    const std::size_t n = s.read_some(net::asio::buffer(reply), ec);
    CHECK(std::string_view(reply.data(), n).starts_with("HTTP/1.1 400"));
  }

  ChatOutcome ok = gw.AskPlain(Body(true, 3), true, "kitchen-speaker");
  REQUIRE_MESSAGE(ok.ok(), ok.error.message);
  CHECK(gw.WaitDone().device == "kitchen-speaker");
  const std::string m = gw.gateway().MetricsText();
  for (const char* reason : {"malformed_json", "unknown_model", "oversize_body", "no_identity",
                             "method_not_allowed", "not_found", "bad_http"}) {
    CAPTURE(reason);
    CHECK(m.find(std::string("bad_requests_total{reason=\"") + reason + "\"} 0") ==
          std::string::npos);
  }
  CHECK(modeld.server().stats().requests.load() == 1);
}

TEST_CASE("the plaintext front reads chunked bodies, answers 100-continue and pipelined requests") {
  ModeldFixture modeld;
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)), "max_header_bytes: 1024\n"), "");
  const std::uint16_t port = gw.gateway().plaintext_port();
  const std::string body = Body(false, 2);
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
      "X-Partita-Device: bench\r\nContent-Type: application/json\r\n";

  SUBCASE("chunked, in three chunks, with Expect: 100-continue") {
    std::string chunked;
    for (std::size_t at = 0; at < body.size(); at += 40) {
      const std::string piece = body.substr(at, 40);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      chunked += size + piece + "\r\n";
    }
    std::string interim;
    auto replies = RawExchange(
        port,
        head + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + "0\r\n\r\n",
        1, &interim);
    REQUIRE(replies.size() == 1);
    CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
    CHECK(replies[0].first == 200);
    CHECK(replies[0].second.find("chat.completion") != std::string::npos);
    CHECK(gw.WaitDone().request_bytes == static_cast<std::int64_t>(body.size()));
  }
  SUBCASE("three requests written at once are answered in order") {
    const std::string one =
        head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    const std::string models = "GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n";
    auto replies = RawExchange(port, one + models + one, 3);
    REQUIRE(replies.size() == 3);
    CHECK(replies[0].first == 200);
    CHECK(replies[1].second.find("milm-70b-moe") != std::string::npos);
    CHECK(replies[2].first == 200);
    CHECK(modeld.server().stats().requests.load() == 2);
  }
  SUBCASE("a head over max_header_bytes is 431, a bad chunk 400") {
    auto replies = RawExchange(port, head + "X-Pad: " + std::string(2000, 'p') + "\r\n\r\n", 1);
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].first == 431);
    replies = RawExchange(port, head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 1);
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].first == 400);
    CHECK(replies[0].second.find("bad chunked body") != std::string::npos);
    CHECK(modeld.server().stats().requests.load() == 0);
  }
}

// An upstream that streams without end and reports when the gateway stops reading from it.
class FloodUpstream {
 public:
  FloodUpstream() : acceptor_(io_.context()) {
    net::tcp::endpoint ep(net::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    net::asio::co_spawn(io_.context(), Serve(), net::asio::detached);
  }
  ~FloodUpstream() {
    net::asio::post(io_.context(), [this] { acceptor_.close(); });
    io_.Stop();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  // Bytes written when a write first stayed blocked for 500 ms.
  EventQueue<std::uint64_t> blocked;

 private:
  net::asio::awaitable<void> Serve() {
    auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow_awaitable);
    if (ec) co_return;
    net::beast::tcp_stream stream(std::move(socket));
    net::beast::flat_buffer buffer;
    beast_http::request<beast_http::string_body> req;
    auto [rec, rn] =
        co_await beast_http::async_read(stream, buffer, req, net::use_nothrow_awaitable);
    if (rec) co_return;
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto [hec, hn] = co_await net::asio::async_write(stream, net::asio::buffer(head),
                                                     net::use_nothrow_awaitable);
    if (hec) co_return;
    std::string events;
    while (events.size() < 60000) events += backends::testing::ContentEvent(std::string(200, 'x'));
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", events.size());
    const std::string chunk = size + events + "\r\n";
    std::uint64_t total = 0;
    while (total < (1ull << 30)) {
      stream.expires_after(500ms);
      auto [wec, wn] = co_await net::asio::async_write(stream, net::asio::buffer(chunk),
                                                       net::use_nothrow_awaitable);
      total += wn;
      if (wec) {
        blocked.Push(total);
        co_return;
      }
    }
    blocked.Push(total);
  }

  partita::testing::IoThread io_;
  net::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
};

TEST_CASE("a device that does not read makes the gateway stop reading its upstream") {
  FloodUpstream flood;
  ModeldFixture modeld;
  GatewayFixture gw(R"(clients: {write_timeout_ms: 3000}
models:
  - name: milm-70b-moe
    upstreams: [{name: flood, url: ")" +
                    flood.url() + R"("}]
  - name: milm-7b-moe
    upstreams: [{name: sim, url: ")" +
                    Url(modeld) + R"("}]
)");
  // A device that sends a streaming request and never reads the answer.
  net::asio::io_context io;
  net::tcp::socket device(io);
  device.connect(
      net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), gw.gateway().plaintext_port()));
  const std::string body = Body(true, 100000);
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  net::asio::write(device, net::asio::buffer(request));

  std::optional<std::uint64_t> written = flood.blocked.Pop(30s);
  REQUIRE(written);
  // Socket buffers on both sides plus the gateway's bounded buffers, nowhere near the 1 GiB
  // the upstream would send.
  CHECK(*written < (64ull << 20));
  MESSAGE("upstream wrote " << *written / 1024 << " KiB before the gateway stopped reading");

  // The gateway keeps serving others meanwhile, and drops the silent device after the write
  // timeout.
  ChatOutcome other = gw.Ask(Body(true, 3, "milm-7b-moe"), true);
  CHECK(other.ok());
  std::map<std::string, std::string> outcomes;
  for (int i = 0; i < 2; ++i) {
    Done d = gw.WaitDone();
    outcomes[d.device] = d.outcome;
  }
  CHECK(outcomes["speaker"] == "ok");
  CHECK(outcomes["bench"] == "client_gone");
  CHECK(gw.gateway().MetricsText().find("bad_requests_total{reason=\"client_timeout\"} 1") !=
        std::string::npos);
}

TEST_CASE("health and metrics on the loopback port follow ejection and load") {
  ModeldFixture bad;
  bad.server().SetFault(*modeld::ParseFaultSpec("status=500"));
  GatewayFixture gw(OneModel(Upstream("only", Url(bad))));
  const std::uint16_t mport = gw.gateway().metrics_port();
  auto health = Exchange(mport, beast_http::verb::get, "/v1/partita/health", "");
  CHECK(health.result_int() == 200);
  CHECK(health.body().find("\"healthy\":true") != std::string::npos);
  CHECK(health.body().find("\"load\":") != std::string::npos);
  for (int i = 0; i < 5; ++i) {
    ChatOutcome out = gw.Ask(Body(false, 2), false);
    CHECK(out.error.kind == ErrorKind::kErrorStatus);
    CHECK(out.error.http_status == 500);
    CHECK(out.error.code == "upstream_error");
    CHECK(gw.WaitDone().outcome == "upstream_error");
  }
  health = Exchange(mport, beast_http::verb::get, "/v1/partita/health", "");
  CHECK(health.result_int() == 503);
  CHECK(health.body().find("\"healthy\":false") != std::string::npos);
  ChatOutcome none = gw.Ask(Body(false, 2), false);
  CHECK(none.error.http_status == 503);
  CHECK(none.error.code == "no_healthy_upstream");
  CHECK(gw.WaitDone().outcome == "no_upstream");
  auto metrics = Exchange(mport, beast_http::verb::get, "/metrics", "");
  CHECK(metrics.result_int() == 200);
  CHECK(metrics.body().find("partita_gateway_healthy 0") != std::string::npos);
  CHECK(metrics.body().find("outcome=\"no_upstream\"} 1") != std::string::npos);
  CHECK(metrics.body().find("kind=\"error_status\"} 5") != std::string::npos);
}

TEST_CASE("at capacity a request is refused with 503 overloaded, and its slot comes back") {
  ModeldFixture modeld;
  modeld.server().SetFault(*modeld::ParseFaultSpec("slow-ms=20"));
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld)), "capacity: 1\n"));
  std::optional<beast_http::response<beast_http::string_body>> refused;
  const std::string body = Body(true, 5);
  ChatOutcome out = gw.Ask(body, true, "speaker", [&](std::string_view) {
    if (!refused) {
      refused =
          Exchange(gw.gateway().plaintext_port(), beast_http::verb::post, "/v1/chat/completions",
                   Body(false, 2), {{"Content-Type", "application/json"}});
    }
  });
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.text == Expected(body, 5));
  REQUIRE(refused);
  CHECK(refused->result_int() == 503);
  CHECK(refused->body().find("\"code\":\"overloaded\"") != std::string::npos);
  CHECK(gw.WaitDone().outcome == "overloaded");
  CHECK(gw.WaitDone().outcome == "ok");
  auto health =
      Exchange(gw.gateway().metrics_port(), beast_http::verb::get, "/v1/partita/health", "");
  CHECK(health.body().find("\"in_flight\":0") != std::string::npos);
  CHECK(gw.Ask(Body(false, 2), false).ok());
  CHECK(gw.WaitDone().outcome == "ok");
}

TEST_CASE("drain lets an in-flight stream finish, then stops accepting") {
  ModeldFixture modeld;
  modeld.server().SetFault(*modeld::ParseFaultSpec("slow-ms=20"));
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  std::thread drainer;
  const std::string body = Body(true, 15);
  ChatOutcome out = gw.Ask(body, true, "speaker", [&](std::string_view) {
    if (!drainer.joinable()) drainer = std::thread([&] { gw.gateway().Drain(10s); });
  });
  drainer.join();
  REQUIRE_MESSAGE(out.ok(), out.error.message);
  CHECK(out.text == Expected(body, 15));
  CHECK(gw.WaitDone().outcome == "ok");
  CHECK(gw.Ask(Body(true, 2), true).error.kind == ErrorKind::kRefused);
}

TEST_CASE("the drain deadline ends a long stream with gateway_shutdown") {
  ModeldFixture modeld;
  modeld.server().SetFault(*modeld::ParseFaultSpec("slow-ms=100"));
  GatewayFixture gw(OneModel(Upstream("only", Url(modeld))));
  std::thread drainer;
  ChatOutcome out = gw.Ask(Body(true, 100), true, "speaker", [&](std::string_view) {
    if (!drainer.joinable()) drainer = std::thread([&] { gw.gateway().Drain(300ms); });
  });
  drainer.join();
  CHECK(out.error.kind == ErrorKind::kStreamError);
  CHECK(out.error.code == "gateway_shutdown");
  CHECK(out.content_chunks >= 1);
  CHECK(out.content_chunks < 100);
  CHECK(gw.WaitDone().outcome == "shutdown");
}

}  // namespace
}  // namespace partita::cloud_gateway
