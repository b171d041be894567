// The router's poll of the gateway's health over real sockets: the gateway's answer sets the
// fleet's cloud health, load and budget; the poll keeps one connection alive across polls.
#include "router/cloud_health.h"

#include <doctest/doctest.h>

#include <thread>

#include "cloud_gateway/gateway.h"
#include "net/pki.h"
#include "tests/backends/test_servers.h"
#include "tests/testing/io_thread.h"
#include "tests/testing/temp_dir.h"

namespace partita::router {
namespace {

using namespace std::chrono_literals;

TEST_CASE("The health poll reads the gateway over one kept-alive mutual-TLS connection") {
  testing::TempDir tmp;
  net::PkiInitOptions pki;
  pki.dir = tmp.File("pki");
  REQUIRE(net::InitPki(pki).ok());
  backends::testing::ModeldFixture modeld;
  const std::string text = "listen: 127.0.0.1:0\ntls: {ca: " + pki.dir +
                           "/ca.crt, cert: " + pki.dir + "/gateway.crt, key: " + pki.dir +
                           "/gateway.key}\nledger: " + tmp.File("ledger.db") +
                           "\nbudgets: {fleet_usd_per_day: 7.5}\nmodels:\n  - name: milm-70b-moe\n"
                           "    upstreams: [{name: a, url: '" +
                           modeld.url() + "'}]\n";
  Diagnostics d("gateway.yaml");
  auto config = cloud_gateway::ParseGatewayConfig(text, d, "", *DefaultCatalog());
  REQUIRE_MESSAGE(config, d.ToString());
  auto gateway = cloud_gateway::Gateway::Create(config);
  REQUIRE(gateway.ok());
  REQUIRE((*gateway)->Start().ok());

  testing::IoThread io;  // outlives the poller, whose connection lives on it
  CloudState cloud(false, 1.0, 1000);
  auto tls = net::MakeClientTlsContext(net::RouterTlsFiles(pki.dir), {net::PeerKind::kGateway});
  REQUIRE(tls.ok());
  auto poller = CloudHealthPoller::Create(
      "https://127.0.0.1:" + std::to_string((*gateway)->tls_port()) + "/v1/partita/health", 200ms,
      *tls, cloud);
  REQUIRE(poller.ok());
  asio::co_spawn(io.context(), (*poller)->Run(), asio::detached);
  // Each poll times out after its interval (docs/router.md): 200 ms leaves a sanitizer build
  // room for the handshake, which a timeout would repeat.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((*poller)->polls() < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  REQUIRE((*poller)->polls() >= 10);
  CHECK(cloud.healthy());
  CHECK(cloud.load() == 0);
  CHECK(cloud.BudgetLeft(0) == doctest::Approx(7.5));
  // Ten polls, one handshake.
  CHECK((*gateway)->MetricsText().find("partita_gateway_tls_handshakes_total 1\n") !=
        std::string::npos);
  (*poller)->Stop();
  io.Stop();
  poller->reset();
  (*gateway)->Stop();
}

}  // namespace
}  // namespace partita::router
