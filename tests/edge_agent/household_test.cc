// Who may serve and use a household's phone tier: households come from an authority the
// operator controls (router.yaml or the device certificates), never from what a device says of
// itself; a phone serves only its household and never a revoked device; a second session with
// one device's certificate replaces the first. Over real sockets: router, agents, modeld.
#include <boost/asio/write.hpp>

#include "net/framed_connection.h"
#include "net/tls_listener.h"
#include "tests/edge_agent/world.h"

namespace partita::agent {
namespace {

using namespace testing;

// Sends `frame` straight to a phone's peer port with `device`'s certificate, as a device that
// skips the router would; returns the phone's first reply (empty when it sent none).
v1::Envelope SendDirect(ControlPlane& cp, const std::string& device, const std::string& endpoint,
                        const std::string& frame) {
  auto tls = net::MakeClientTlsContext(net::DeviceTlsFiles(cp.dir.File("pki"), device),
                                       {net::PeerKind::kDevice});
  REQUIRE_MESSAGE(tls.ok(), tls.status().ToString());
  auto hp = net::SplitHostPort(endpoint);
  REQUIRE(hp.ok());
  asio::io_context io;
  auto exchange = [&]() -> asio::awaitable<v1::Envelope> {
    Result<net::TlsStream> stream =
        co_await net::ConnectTls(io.get_executor(), hp->first, hp->second, *tls, 5s);
    if (!stream.ok()) co_return v1::Envelope();
    auto conn = std::make_shared<net::FramedConnection<net::TlsStream>>(
        std::move(*stream), net::FramedConnectionOptions{});
    conn->Start();
    co_await asio::async_write(conn->stream(), asio::buffer(frame), net::use_nothrow_awaitable);
    v1::Envelope reply;
    const net::error_code ec = co_await conn->Read(reply);
    conn->Close("done");
    co_return ec ? v1::Envelope() : reply;
  };
  return partita::testing::RunCoroutine(io, exchange(), 10s);
}

v1::OffloadReply OffloadDirect(ControlPlane& cp, const std::string& device,
                               const std::string& endpoint) {
  v1::Envelope request;
  request.mutable_offload_request()->set_prompt("Explain my diagnosis SECRET");
  request.mutable_offload_request()->set_model("milm-7b-moe");
  request.mutable_offload_request()->set_max_tokens(4);
  return SendDirect(cp, device, endpoint, net::EncodeFrame(request)).offload_reply();
}

// The phone's reply to `device` once it mentions `expected` (the router's word travels
// asynchronously), or the last reply after 10 s.
v1::OffloadReply OffloadUntil(ControlPlane& cp, const std::string& device,
                              const std::string& endpoint, const std::string& expected) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  v1::OffloadReply reply;
  do {
    reply = OffloadDirect(cp, device, endpoint);
  } while (reply.reason().find(expected) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  return reply;
}

AgentConfig PhoneLike(World& w, const std::string& id, ModeldFixture& runtime) {
  AgentConfig c = w.Config(id, "phone-mid", runtime);
  c.household = "home";  // what it claims
  c.peer_listen = "127.0.0.1:0";
  c.state = {};
  c.state.network = NetworkType::kWifi;
  c.state.battery_pct = 100;
  c.state.charging = true;  // would outrank the real phone, were it a member
  return c;
}

TEST_CASE("A device that claims a household it is not in never receives the household's prompts") {
  World w([](ControlPlane& cp) { cp.revoked = {}; });  // a valid certificate, not in `households`
  ModeldFixture intruder_runtime{Runtime("milm-7b-moe")};
  w.StartPhone("battery_pct: 85\ncharging: false\n");
  Agent& intruder = w.cp.StartAgent(PhoneLike(w, "intruder", intruder_runtime));
  w.StartSpeaker();

  AskOptions priv = kHard;
  priv.privacy = Privacy::kPrivate;
  Result<Answer> a = w.SpeakerClient().Ask("Explain step by step my diagnosis SECRET", priv);
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(a->tier == Tier::kPhone);
  CHECK(Results(*a) == "phone:ok");
  CHECK(intruder_runtime.server().stats().requests.load() == 0);
  CHECK(w.phone_runtime.server().stats().requests.load() == 1);
  CHECK(w.cp.router->registry().Find("intruder")->Snapshot().household == "");
  CHECK(partita::testing::MetricValue(w.cp.router->metrics().Render(),
                                      "partita_router_household_claims_ignored_total") == 1);

  // Nor does the intruder's phone serve the household: it is in none.
  const v1::OffloadReply reply = OffloadDirect(w.cp, "speaker", intruder.peer_endpoint());
  CHECK_FALSE(reply.accepted());
  CHECK(reply.reason() == "the router puts this phone in no household");
}

TEST_CASE("A household in the device's certificate is an authority the router and phones trust") {
  World w([](ControlPlane& cp) { cp.households.erase("speaker"); });
  // The CA puts the speaker in "home" (as `partita pki issue --household home` does).
  REQUIRE(net::IssueCertificate(w.cp.dir.File("pki"), net::PeerKind::kDevice, "speaker", 30, "home")
              .ok());
  Agent& phone = w.StartPhone("battery_pct: 85\ncharging: false\n");
  w.StartSpeaker();
  CHECK(w.cp.router->registry().Find("speaker")->Snapshot().household == "home");
  AskOptions priv = kHard;
  priv.privacy = Privacy::kPrivate;
  Result<Answer> a = w.SpeakerClient().Ask("Explain my diagnosis", priv);
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(Results(*a) == "phone:ok");
  // The phone learnt the speaker joined its household from the router.
  CHECK(OffloadUntil(w.cp, "speaker", phone.peer_endpoint(), "").accepted());
}

TEST_CASE("A phone serves only its household, and never a revoked device, even one it names") {
  World w([](ControlPlane& cp) {
    cp.households["car"] = "elsewhere";
    cp.revoked = {};
  });
  Agent& phone = w.StartPhone();
  w.StartSpeaker();
  SUBCASE("by default, the household the router names") {
    v1::OffloadReply car = OffloadDirect(w.cp, "car", phone.peer_endpoint());
    CHECK_FALSE(car.accepted());
    CHECK(car.reason() == "'car' is not in this phone's household 'home'");
    CHECK(OffloadDirect(w.cp, "speaker", phone.peer_endpoint()).accepted());

    w.cp.router->SetRevoked({"speaker"});
    v1::OffloadReply revoked = OffloadUntil(w.cp, "speaker", phone.peer_endpoint(), "revoked");
    CHECK_FALSE(revoked.accepted());
    CHECK(revoked.reason() == "'speaker' is revoked");
    CHECK(w.phone_runtime.server().stats().requests.load() == 1);
  }
  SUBCASE("admission.from overrides the household, not a revocation") {
    World named([](ControlPlane& cp) { cp.revoked = {}; });
    Agent& p = named.StartPhone("battery_pct: 80\ncharging: true\n", {"speaker", "intruder"});
    CHECK(OffloadDirect(named.cp, "intruder", p.peer_endpoint()).accepted());
    named.cp.router->SetRevoked({"intruder"});
    v1::OffloadReply reply = OffloadUntil(named.cp, "intruder", p.peer_endpoint(), "revoked");
    CHECK_FALSE(reply.accepted());
    CHECK(reply.reason() == "'intruder' is revoked");
  }
}

TEST_CASE("A phone answers a bad first frame with an Error, logs it and counts it") {
  World w;
  Agent& phone = w.StartPhone();
  v1::Envelope outcome;
  outcome.mutable_outcome()->set_request_id(1);
  v1::Envelope reply =
      SendDirect(w.cp, "speaker", phone.peer_endpoint(), net::EncodeFrame(outcome));
  CHECK(reply.error().code() == v1::ERROR_NOT_ALLOWED);
  CHECK(reply.error().message() == "the first frame must be an OffloadRequest");
  std::string garbage(4, '\0');
  garbage[3] = 5;
  garbage += "\xff\xff\xff\xff\xff";
  reply = SendDirect(w.cp, "speaker", phone.peer_endpoint(), garbage);
  CHECK(reply.error().code() == v1::ERROR_BAD_FRAME);
  CHECK(phone.peer_server()->refused_frames() == 2);
}

TEST_CASE("A second session with a live device's certificate is refused, the entry stays its own") {
  World w;
  ModeldFixture fake_runtime{Runtime("milm-7b-moe")};
  Agent& car = w.cp.StartAgent(w.Config("car", "car", w.speaker_runtime));
  CHECK(w.cp.router->registry().Find("car")->Snapshot().profile_name == "car");

  // Another agent with the car's certificate, claiming to be a phone with a peer port.
  AgentConfig impostor = PhoneLike(w, "car", fake_runtime);
  impostor.app_socket = w.cp.dir.File("impostor.sock");
  Agent& second = w.cp.StartAgent(impostor, /*wait_connected=*/false);
  // Refused: it never connects while the car's session is live.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (partita::testing::MetricValue(
             w.cp.router->metrics().Render(),
             "partita_router_duplicate_sessions_total{action=\"refused\"}") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  CHECK(partita::testing::MetricValue(
            w.cp.router->metrics().Render(),
            "partita_router_duplicate_sessions_total{action=\"refused\"}") >= 1);
  CHECK_FALSE(second.WaitConnected(true, 500ms));
  const auto entry = w.cp.router->registry().Find("car")->Snapshot();
  CHECK(entry.profile_name == "car");
  CHECK(entry.peer_endpoint.empty());
  CHECK(entry.online);
  CHECK(car.WaitConnected(true, 1s));
}

}  // namespace
}  // namespace partita::agent
