// The router and edge agents over real TLS on loopback, with a real decision log.
#include "router/router.h"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/framed_connection.h"
#include "net/tls.h"
#include "net/tls_listener.h"
#include "storage/sqlite.h"
#include "tests/router/fixture.h"
#include "tests/testing/event_queue.h"
#include "tests/testing/io_thread.h"

namespace partita::router {
namespace {

using namespace std::chrono_literals;
using testing::ControlPlane;
using testing::MetricValue;
namespace beast = boost::beast;

policy::RequestFacts Command() {
  policy::RequestFacts f;
  f.kind = RequestKind::kCommand;
  f.difficulty = 0.1;
  f.tokens_in = 12;
  f.tokens_out = 10;
  return f;
}

policy::RequestFacts HardQuestion() {
  policy::RequestFacts f;
  f.kind = RequestKind::kReasoning;
  f.difficulty = 0.9;
  f.tokens_in = 200;
  f.tokens_out = 300;
  return f;
}

std::int64_t Count(const std::string& db_path, const std::string& sql) {
  auto db = storage::Database::Open(db_path);
  REQUIRE(db.ok());
  Result<std::int64_t> n = (*db)->QueryInt(sql);
  REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  return *n;
}

v1::Outcome OutcomeFor(const v1::Decision& d) {
  v1::Outcome o;
  o.set_request_id(d.request_id());
  o.set_rule(d.rule());
  o.set_policy_version(d.policy_version());
  o.set_final_tier(d.route().tier());
  o.set_final_model(d.route().model());
  o.set_success(true);
  o.set_ttft_ms(120);
  o.set_total_ms(900);
  o.set_tokens_in(12);
  o.set_tokens_out(10);
  o.set_cost_usd(0.0001);
  v1::Attempt* a = o.add_attempts();
  a->set_tier(d.route().tier());
  a->set_model(d.route().model());
  a->set_result(v1::ATTEMPT_OK);
  a->set_elapsed_ms(900);
  return o;
}

TEST_CASE(
    "An agent registers, heartbeats and gets decisions that are logged before they are sent") {
  ControlPlane cp;
  cp.StartRouter();
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  CHECK(cp.router->registry().online() == 1);
  const DeviceSnapshot snap = cp.router->registry().Find("speaker")->Snapshot();
  CHECK(snap.profile_name == "smart-speaker");
  CHECK(snap.household == "home");
  CHECK(snap.battery_pct == doctest::Approx(80));

  const v1::Decision d = speaker.DecideBlocking(Command());
  CHECK_FALSE(d.decided_offline());
  CHECK(d.route().tier() == v1::TIER_DEVICE);
  CHECK(d.route().model() == "milm-1.3b");
  CHECK(d.rule() == "easy-commands-stay-local");
  CHECK(d.policy_version() == cp.router->current_policy()->version());
  // The Decision arrived, so its row is committed.
  CHECK(Count(cp.log_path(),
              "SELECT count(*) FROM requests WHERE device_id = 'speaker' AND "
              "request_id = " +
                  std::to_string(d.request_id()) +
                  " AND tier = 'device' AND rule = 'easy-commands-stay-local'") == 1);

  // A drained battery reaches the router with the next request and changes the decision.
  testing::WriteAtomically(cp.dir.File("speaker-state.yaml"), "battery_pct: 12\n");
  agent::AgentConfig phone_cfg = cp.AgentConfig("phone", "phone-mid");
  phone_cfg.state_file = cp.dir.File("phone-state.yaml");
  testing::WriteAtomically(phone_cfg.state_file, "battery_pct: 12\ncharging: false\n");
  agent::Agent& phone = cp.StartAgent(phone_cfg);
  const v1::Decision drained = phone.DecideBlocking(HardQuestion());
  CHECK(drained.rule() == "low-battery-offload");
  CHECK(drained.route().tier() == v1::TIER_CLOUD);
  CHECK(cp.router->registry().Find("phone")->Snapshot().battery_pct == doctest::Approx(12));
  CHECK(cp.router->registry().Find("phone")->Snapshot().heartbeats >= 1);
}

TEST_CASE("The phone tier names the household phone and how to reach it") {
  ControlPlane cp;
  cp.StartRouter();
  agent::AgentConfig phone_cfg = cp.AgentConfig("phone", "phone-flagship");
  phone_cfg.peer_advertise = "127.0.0.1:7999";
  phone_cfg.state.charging = true;
  cp.StartAgent(phone_cfg);
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  policy::RequestFacts f = HardQuestion();
  f.privacy = Privacy::kPrivate;
  const v1::Decision d = speaker.DecideBlocking(f);
  CHECK(d.rule() == "private-at-home");
  CHECK(d.route().tier() == v1::TIER_PHONE);
  CHECK(d.route().target_device_id() == "phone");
  CHECK(d.route().endpoint() == "127.0.0.1:7999");
  for (const v1::Route& r : d.fallback()) CHECK(r.tier() != v1::TIER_CLOUD);
  CHECK(d.guards_size() == 1);
}

TEST_CASE("Outcomes are stored and acknowledged") {
  ControlPlane cp;
  cp.StartRouter();
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  const v1::Decision d = speaker.DecideBlocking(Command());
  speaker.ReportOutcomeBlocking(OutcomeFor(d));
  REQUIRE(speaker.WaitOutcomesAcked(10s));
  CHECK(Count(cp.log_path(),
              "SELECT count(*) FROM requests WHERE request_id = " + std::to_string(d.request_id()) +
                  " AND success = 1 AND total_ms = 900 AND final_tier = 'device' "
                  "AND trail = 'device:ok:900'") == 1);
}

TEST_CASE(
    "A changed policy file serves within a second and reaches agents, a broken one does not") {
  ControlPlane cp;
  cp.StartRouter();
  testing::EventQueue<Status> reloads;
  cp.router->SetReloadObserver([&](const Status& s) { reloads.Push(s); });
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  const std::string old_version = cp.router->current_policy()->version();
  REQUIRE(speaker.WaitForPolicy(old_version, 5s));

  std::string text = testing::ReadSourceFile("policies/library/balanced.yaml");
  // Rename a rule (and the policy's own tests that name it).
  const std::string from = "easy-commands-stay-local";
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), "commands-on-device");
  }
  testing::WriteAtomically(cp.policy_path(), text);
  std::optional<Status> ok = reloads.Pop(5s);
  REQUIRE(ok);
  CHECK(ok->ok());
  const std::string new_version = cp.router->current_policy()->version();
  CHECK(new_version != old_version);
  CHECK(speaker.WaitForPolicy(new_version, 5s));
  CHECK(speaker.DecideBlocking(Command()).rule() == "commands-on-device");

  testing::WriteAtomically(cp.policy_path(), "apiVersion: partita/v1\nkind: Policy\nspec: [\n");
  std::optional<Status> bad = reloads.Pop(5s);
  REQUIRE(bad);
  CHECK_FALSE(bad->ok());
  CHECK(bad->message().find(cp.policy_path() + ":") == 0);
  CHECK(cp.router->current_policy()->version() == new_version);
  CHECK(speaker.policy_version() == new_version);
  CHECK(speaker.DecideBlocking(Command()).rule() == "commands-on-device");
  CHECK(MetricValue(cp.router->metrics().Render(),
                    "partita_router_policy_reloads_total{result=\"rejected\"}") == 1);
}

TEST_CASE("Without the router, the agent decides offline with the cached policy") {
  ControlPlane cp;
  cp.StartRouter();
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  const std::string version = cp.router->current_policy()->version();
  REQUIRE(speaker.WaitForPolicy(version, 5s));
  cp.StopRouter();
  REQUIRE(speaker.WaitConnected(false, 5s));
  const v1::Decision d = speaker.DecideBlocking(Command());
  CHECK(d.decided_offline());
  CHECK(d.policy_version() == version);
  CHECK(d.rule() == "easy-commands-stay-local");
  CHECK(d.route().tier() == v1::TIER_DEVICE);
  const v1::Decision hard = speaker.DecideBlocking(HardQuestion());
  CHECK(hard.decided_offline());
  CHECK(hard.route().tier() ==
        v1::TIER_CLOUD);  // offline means "router unreachable", not "no network"
}

TEST_CASE("After a router restart agents reconnect and every acknowledged row is kept") {
  ControlPlane cp;
  cp.StartRouter();
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 20; ++i) {
    const v1::Decision d = speaker.DecideBlocking(Command());
    speaker.ReportOutcomeBlocking(OutcomeFor(d));
    ids.push_back(d.request_id());
  }
  REQUIRE(speaker.WaitOutcomesAcked(10s));
  cp.StopRouter();
  REQUIRE(speaker.WaitConnected(false, 5s));
  // Decided offline and reported while the router is away: kept until acknowledged.
  for (int i = 0; i < 5; ++i) {
    const v1::Decision d = speaker.DecideBlocking(Command());
    CHECK(d.decided_offline());
    v1::Outcome o = OutcomeFor(d);
    o.set_decided_offline(true);
    speaker.ReportOutcomeBlocking(o);
    ids.push_back(d.request_id());
  }
  CHECK(speaker.unacked_outcomes() == 5);
  cp.StartRouter();
  REQUIRE(speaker.WaitConnected(true, 15s));
  REQUIRE(speaker.WaitOutcomesAcked(10s));
  const v1::Decision after = speaker.DecideBlocking(Command());
  CHECK_FALSE(after.decided_offline());
  for (std::uint64_t id : ids) {
    CHECK(Count(cp.log_path(), "SELECT count(*) FROM requests WHERE request_id = " +
                                   std::to_string(id) + " AND success = 1") == 1);
  }
  CHECK(Count(cp.log_path(), "SELECT count(*) FROM requests WHERE decided_offline = 1") == 5);
  CHECK(Count(cp.log_path(), "SELECT count(*) FROM runs WHERE source = 'router'") == 2);
}

// A raw client: completes the TLS handshake with `files`, sends `bytes`, returns the first
// frame the router answers with (or the error that ended the connection).
struct RawResult {
  std::optional<v1::Envelope> reply;
  std::string error;
};

RawResult SendRaw(std::uint16_t port, net::TlsContextPtr tls, const std::string& bytes) {
  asio::io_context io;
  return testing::RunCoroutine(io, [&]() -> asio::awaitable<RawResult> {
    RawResult r;
    auto stream =
        co_await net::ConnectTls(co_await asio::this_coro::executor, "127.0.0.1", port, tls, 5s);
    if (!stream.ok()) {
      r.error = stream.status().message();
      co_return r;
    }
    auto conn = std::make_shared<net::FramedConnection<net::TlsStream>>(
        std::move(*stream), net::FramedConnectionOptions{});
    conn->Start();
    if (!bytes.empty()) {
      co_await asio::async_write(conn->stream(), asio::buffer(bytes), net::use_nothrow_awaitable);
    }
    v1::Envelope e;
    const net::error_code ec = co_await conn->Read(e);
    if (ec) {
      r.error = ec.message();
    } else {
      r.reply = e;
    }
    conn->Close("done");
    co_return r;
  }());
}

std::string Frame(const v1::Envelope& e) { return net::EncodeFrame(e); }

TEST_CASE(
    "Bad frames, impostors and foreign clients are refused and counted, good agents carry on") {
  testing::EventQueue<net::HandshakeFailure> refused;  // declared first: outlives the router
  ControlPlane cp;
  cp.StartRouter();
  auto device_tls = [&](const std::string& id) {
    auto t = net::MakeClientTlsContext(net::DeviceTlsFiles(cp.dir.File("pki"), id),
                                       {net::PeerKind::kRouter});
    REQUIRE(t.ok());
    return *t;
  };

  SUBCASE("each refusal") {
    // A good agent connected through all of it keeps its session and its decisions.
    agent::Agent& car = cp.StartAgent(cp.AgentConfig("car", "car"));
    CHECK(car.DecideBlocking(Command()).has_route());
    const std::uint64_t car_session = cp.router->registry().Find("car")->session();
    RawResult oversize =
        SendRaw(cp.port, device_tls("speaker"), std::string("\x7f\x00\x00\x00", 4));
    REQUIRE(oversize.reply);
    CHECK(oversize.reply->error().code() == v1::ERROR_BAD_FRAME);

    RawResult garbage = SendRaw(cp.port, device_tls("speaker"),
                                std::string("\x00\x00\x00\x04", 4) + "\xde\xad\xbe\xef");
    REQUIRE(garbage.reply);
    CHECK(garbage.reply->error().message() == "undecodable frame");

    v1::Envelope decision_first;
    decision_first.mutable_decision()->set_rule("x");
    RawResult not_allowed = SendRaw(cp.port, device_tls("speaker"), Frame(decision_first));
    REQUIRE(not_allowed.reply);
    CHECK(not_allowed.reply->error().code() == v1::ERROR_NOT_ALLOWED);

    v1::Envelope hello;
    hello.mutable_hello()->set_device_id("phone");
    hello.mutable_hello()->set_profile("smart-speaker");
    RawResult impostor = SendRaw(cp.port, device_tls("speaker"), Frame(hello));
    REQUIRE(impostor.reply);
    CHECK(impostor.reply->error().code() == v1::ERROR_IDENTITY_MISMATCH);

    RawResult revoked = SendRaw(cp.port, device_tls("intruder"), "");
    REQUIRE(revoked.reply);
    CHECK(revoked.reply->error().code() == v1::ERROR_REVOKED);

    RawResult silent = SendRaw(cp.port, device_tls("speaker"), "");  // says nothing
    CHECK_FALSE(silent.reply);

    // A refused handshake is counted after the client has read the alert: wait for both.
    cp.router->SetRefusalObserver([&](net::HandshakeFailure why) { refused.Push(why); });

    auto foreign = net::MakeClientTlsContext(
        {cp.dir.File("pki") + "/ca.crt", cp.dir.File("foreign") + "/devices/speaker.crt",
         cp.dir.File("foreign") + "/devices/speaker.key"},
        {net::PeerKind::kRouter});
    REQUIRE(foreign.ok());
    CHECK_FALSE(SendRaw(cp.port, *foreign, "").reply);

    auto tls12 = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_max_proto_version(tls12->native_handle(), TLS1_2_VERSION);
    tls12->load_verify_file(cp.dir.File("pki") + "/ca.crt");
    tls12->use_certificate_chain_file(cp.dir.File("pki") + "/devices/speaker.crt");
    tls12->use_private_key_file(cp.dir.File("pki") + "/devices/speaker.key",
                                asio::ssl::context::pem);
    CHECK_FALSE(SendRaw(cp.port, tls12, "").reply);
    std::vector<net::HandshakeFailure> refusals;
    for (int i = 0; i < 2; ++i) {
      std::optional<net::HandshakeFailure> why = refused.Pop(10s);
      REQUIRE(why);
      refusals.push_back(*why);
    }
    cp.router->SetRefusalObserver(nullptr);
    std::sort(refusals.begin(), refusals.end());
    CHECK(refusals ==
          std::vector<net::HandshakeFailure>{net::HandshakeFailure::kUntrustedCertificate,
                                             net::HandshakeFailure::kProtocolVersion});

    const std::string m = cp.router->metrics().Render();
    auto frames = [&](const char* reason) {
      return MetricValue(
          m, std::string("partita_router_frames_rejected_total{reason=\"") + reason + "\"}");
    };
    CHECK(frames("oversize") == 1);
    CHECK(frames("undecodable") == 1);
    CHECK(frames("not_allowed") == 1);
    CHECK(frames("identity_mismatch") == 1);
    CHECK(frames("revoked") == 1);
    CHECK(frames("idle_timeout") == 1);
    CHECK(cp.router->handshake_stats().Failed(net::HandshakeFailure::kUntrustedCertificate) == 1);
    CHECK(cp.router->handshake_stats().Failed(net::HandshakeFailure::kProtocolVersion) == 1);
    CHECK(MetricValue(m, "partita_router_tls_refused_total{reason=\"protocol_version\"}") == 1);

    // A good agent still registers and gets decisions; the one connected throughout is still
    // connected on its first session and its decisions are all in the log.
    agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
    CHECK(speaker.DecideBlocking(Command()).route().tier() == v1::TIER_DEVICE);
    CHECK(car.DecideBlocking(Command()).has_route());
    CHECK(cp.router->registry().online() == 2);
    CHECK(cp.router->registry().Find("car")->session() == car_session);
    // A decision is answered only after its row is committed.
    auto db = storage::Database::Open(cp.log_path());
    REQUIRE(db.ok());
    CHECK(*(*db)->QueryInt("SELECT count(*) FROM requests WHERE device_id = 'car'") == 2);
  }
}

TEST_CASE("One certificate holds at most max_connections_per_device connections") {
  ControlPlane cp;
  cp.StartRouter();  // max_connections_per_device: 4 (the default)
  testing::EventQueue<net::HandshakeFailure> refused;
  cp.router->SetRefusalObserver([&](net::HandshakeFailure why) { refused.Push(why); });
  auto tls = net::MakeClientTlsContext(net::DeviceTlsFiles(cp.dir.File("pki"), "speaker"),
                                       {net::PeerKind::kRouter});
  REQUIRE(tls.ok());
  asio::io_context io;
  // Four connections that each announce a 1 MiB frame and send 1,000 bytes of it, and hold.
  std::string announced(4, '\0');
  announced[1] = 0x10;  // 0x00100000 = 1 MiB
  announced += std::string(1000, 'x');
  std::vector<net::TlsStream> held;
  for (int i = 0; i < 4; ++i) {
    auto stream = testing::RunCoroutine(
        io, net::ConnectTls(io.get_executor(), "127.0.0.1", cp.port, *tls, 5s));
    REQUIRE_MESSAGE(stream.ok(), stream.status().ToString());
    asio::write(*stream, asio::buffer(announced));
    held.push_back(std::move(*stream));
  }
  // A fifth is refused right after its handshake, and counted; another device is not affected.
  CHECK_FALSE(SendRaw(cp.port, *tls, "").reply);
  std::optional<net::HandshakeFailure> why = refused.Pop(10s);
  REQUIRE(why);
  CHECK(*why == net::HandshakeFailure::kTooManyConnections);
  CHECK(MetricValue(cp.router->metrics().Render(),
                    "partita_router_tls_refused_total{reason=\"too_many_connections\"}") == 1);
  agent::Agent& car = cp.StartAgent(cp.AgentConfig("car", "car"));
  CHECK(car.DecideBlocking(Command()).has_route());
  // Once one closes, the speaker may connect again.
  held.pop_back();
  cp.router->SetRefusalObserver(nullptr);
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  CHECK(speaker.DecideBlocking(Command()).has_route());
}

TEST_CASE("Revoking a device in router.yaml closes its live session, others stay") {
  ControlPlane cp;
  const std::string path = cp.dir.File("router.yaml");
  auto write_config = [&](const std::string& revoked) {
    testing::WriteAtomically(
        path,
        "apiVersion: partita/v1\nkind: RouterConfig\nlisten: 127.0.0.1:" + std::to_string(cp.port) +
            "\nmetrics_listen: \"\"\npki_dir: pki\npolicy: policy.yaml\n"
            "decision_log: router.db\nrevoked: [" +
            revoked + "]\n");
  };
  write_config("intruder");
  Result<router::RouterConfig> config = router::LoadRouterConfig(path);
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->config_path == path);
  config->policy_poll = std::chrono::milliseconds(20);
  config->heartbeat_interval = std::chrono::milliseconds(200);
  auto r = router::Router::Create(*config);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  cp.router = std::move(*r);
  REQUIRE(cp.router->Start().ok());
  cp.port = cp.router->agent_endpoint().port();
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  agent::Agent& car = cp.StartAgent(cp.AgentConfig("car", "car"));

  write_config("intruder, speaker");
  CHECK(speaker.WaitConnected(false, std::chrono::seconds(10)));
  CHECK(speaker.revoked_by_router());  // so it knocks again only every few minutes
  CHECK_FALSE(car.revoked_by_router());
  CHECK(cp.router->registry().IsRevoked("speaker"));
  CHECK_FALSE(cp.router->registry().IsRevoked("car"));
  CHECK(car.WaitConnected(true, std::chrono::seconds(1)));  // the others are untouched
  const std::string m = cp.router->metrics().Render();
  CHECK(MetricValue(m, "partita_router_frames_rejected_total{reason=\"revoked\"}") >= 1);
}

TEST_CASE("/metrics serves decisions by tier and rule, connected devices and the policy version") {
  ControlPlane cp;
  cp.StartRouter();
  agent::Agent& speaker = cp.StartAgent(cp.AgentConfig("speaker", "smart-speaker"));
  speaker.DecideBlocking(Command());
  speaker.DecideBlocking(Command());
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(cp.router->metrics_endpoint());
  beast::http::request<beast::http::empty_body> req(beast::http::verb::get, "/metrics", 11);
  req.set(beast::http::field::host, "localhost");
  beast::http::write(stream, req);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(stream, buffer, res);
  CHECK(res.result_int() == 200);
  const std::string& body = res.body();
  CHECK(MetricValue(body,
                    "partita_router_decisions_total{tier=\"device\","
                    "rule=\"easy-commands-stay-local\"}") == 2);
  CHECK(MetricValue(body, "partita_router_connected_devices") == 1);
  CHECK(body.find("partita_router_policy_info{name=\"balanced\",version=\"" +
                  cp.router->current_policy()->version() + "\"} 1") != std::string::npos);
  CHECK(body.find("partita_router_decision_latency_seconds_count 2") != std::string::npos);
  CHECK(MetricValue(body, "partita_router_decision_log_commits_total") >= 1);
  CHECK(body.find("\npartita_router_decision_log_wal_restarts_total 0\n") != std::string::npos);
}

}  // namespace
}  // namespace partita::router
