// A gateway killed with SIGKILL while streams are in flight forgets nothing it spent: the
// restarted gateway settles the open reservations at their reserved cost, so a device cannot
// get a fresh budget by outliving a crash. The real `partita gateway` process is killed; the
// upstream is an in-process modeld streaming slowly enough to be cut mid-answer.
#include <thread>

#include "storage/sqlite.h"
#include "tests/cloud_gateway/gateway_fixture.h"
#include "tests/testing/child_process.h"

namespace partita::cloud_gateway {
namespace {

using namespace testing;
using backends::testing::ModeldFixture;
using partita::testing::ChildProcess;

std::string PartitaBinary() { return std::string(PARTITA_BINARY_DIR) + "/sdk/cli/partita"; }

// Starts `partita gateway` on `config`; returns its plaintext port (0 if it did not start).
std::uint16_t StartGateway(std::unique_ptr<ChildProcess>& gw, const std::string& config,
                           const std::string& log) {
  gw = std::make_unique<ChildProcess>(
      std::vector<std::string>{PartitaBinary(), "gateway", "--config", config}, log);
  const std::optional<std::string> port =
      gw->WaitForNumberAfter("PLAINTEXT front on 127.0.0.1:0 (port ");
  if (!port) return 0;
  return static_cast<std::uint16_t>(std::stoi(*port));
}

TEST_CASE("a gateway killed mid-stream settles the open reservations when it restarts") {
  partita::testing::TempDir tmp;
  modeld::ModelServerOptions slow = ModeldFixture::Fast();
  slow.model = "milm-70b-moe";
  slow.rate_scale = 2;  // about 30 tokens a second: a 50-token answer takes over a second
  ModeldFixture modeld(slow);
  const std::string ledger = tmp.File("ledger.db");
  const std::string config = tmp.File("gateway.yaml");
  {
    std::ofstream out(config);
    // $1000 per 1M output tokens, nothing for input: 0.05 USD is 50 tokens a day per device.
    out << "plaintext: {listen: 127.0.0.1:0}\nledger: " << ledger
        << "\nbudgets: {device_usd_per_day: 0.05}\n"
        << kPatientTimeouts << R"(models:
  - name: milm-70b-moe
    price: {input_usd_per_1m_tokens: 0, output_usd_per_1m_tokens: 1000}
    upstreams: [{name: only, url: ")"
        << Url(modeld) << "\"}]\n";
  }
  std::unique_ptr<ChildProcess> gw;
  const std::uint16_t port = StartGateway(gw, config, tmp.File("gateway-1.log"));
  REQUIRE_MESSAGE(port != 0, gw->Log());

  // Two devices each stream a 99-token answer (capped to the 50 their budgets afford).
  partita::testing::EventQueue<int> fifteen;  // the speaker's stream reached 15 tokens
  std::atomic<int> speaker_tokens{0};
  std::atomic<int> car_tokens{0};
  auto stream = [&](const std::string& device, std::atomic<int>& tokens) {
    backends::ClientConfig c;
    c.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
    c.headers = {{"X-Partita-Device", device}};
    net::asio::io_context io;
    auto client = backends::ChatClient::Create(io.get_executor(), c);
    REQUIRE(client.ok());
    backends::Timeouts t;
    t.total = 30s;
    partita::testing::RunCoroutine(io,
                                   backends::Complete(**client, Body(true, 99), true, t,
                                                      [&](std::string_view) {
                                                        if (++tokens == 15 && device == "speaker")
                                                          fifteen.Push(1);
                                                      }),
                                   40s);
  };
  std::thread speaker([&] { stream("speaker", speaker_tokens); });
  std::thread car([&] { stream("car", car_tokens); });
  REQUIRE(fifteen.Pop(20s));
  gw->Kill(SIGKILL);
  const int status = gw->Wait();
  speaker.join();
  car.join();
  REQUIRE(WIFSIGNALED(status));
  const int delivered = speaker_tokens.load() + car_tokens.load();
  CHECK(speaker_tokens.load() >= 15);
  CHECK(speaker_tokens.load() < 50);  // cut mid-answer

  // The restart settles both reservations at 50 tokens each, before it serves.
  const std::uint16_t again = StartGateway(gw, config, tmp.File("gateway-2.log"));
  REQUIRE_MESSAGE(again != 0, gw->Log());
  CHECK(gw->Log().find("settled 2 request(s) that a previous gateway process left in flight") !=
        std::string::npos);
  {
    auto db = storage::Database::Open(ledger);
    REQUIRE(db.ok());
    CHECK(*(*db)->QueryInt("SELECT count(*) FROM gateway_requests WHERE outcome = 'crashed'") == 2);
    CHECK(*(*db)->QueryInt("SELECT round(sum(cost_usd) * 1000) FROM gateway_requests") == 100);
  }
  // Neither device has budget left: no fresh budget after the crash.
  auto res = Exchange(again, beast_http::verb::post, "/v1/chat/completions", Body(false, 5),
                      {{"X-Partita-Device", "speaker"}});
  CHECK(res.result_int() == 429);
  MESSAGE("tokens delivered before the kill: ", delivered,
          "; spend in the ledger after the restart: 100 tokens' worth (0.100 USD)");
  gw->Kill(SIGTERM);
  CHECK(gw->Wait() == 0);
}

}  // namespace
}  // namespace partita::cloud_gateway
