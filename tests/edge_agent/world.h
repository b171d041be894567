// The world the agent's integration tests ask in: a control plane (router, PKI), a cloud
// gateway in front of a modeld upstream, modeld runtimes for the speaker and the phone, and
// helpers to start agents and read their answers. Everything over real sockets on loopback.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "cloud_gateway/config.h"
#include "cloud_gateway/gateway.h"
#include "policies/loader.h"
#include "sdk/client.h"
#include "storage/sqlite.h"
#include "tests/backends/test_servers.h"
#include "tests/router/fixture.h"
#include "tests/testing/event_queue.h"

namespace partita::agent::testing {

using namespace std::chrono_literals;
using backends::testing::ModeldFixture;
using partita::testing::ControlPlane;

inline modeld::ModelServerOptions Runtime(const std::string& model, double rate_scale = 2000) {
  modeld::ModelServerOptions o;
  o.model = model;
  o.rate_scale = rate_scale;
  o.default_max_tokens = 12;
  return o;
}

class World {
 public:
  // `setup` adjusts the control plane (households, revocations) before the router starts.
  explicit World(const std::function<void(ControlPlane&)>& setup = {}) {
    if (setup) setup(cp);
    cp.StartRouter();
    const std::string pki = cp.dir.File("pki");
    const std::string text =
        "listen: 127.0.0.1:0\n"
        "tls: {ca: " +
        pki + "/ca.crt, cert: " + pki + "/gateway.crt, key: " + pki +
        "/gateway.key}\n"
        "ledger: " +
        cp.dir.File("ledger.db") +
        "\n"
        "timeouts: {first_token_ms: 20000, between_chunks_ms: 20000}\n"
        "models:\n"
        "  - name: milm-70b-moe\n"
        "    upstreams: [{name: big, url: '" +
        cloud.url() +
        "'}]\n"
        "  - name: milm-7b-moe\n"
        "    upstreams: [{name: mid, url: '" +
        cloud.url() + "'}]\n";
    Diagnostics d("gateway.yaml");
    cloud_gateway::GatewayConfigPtr config =
        cloud_gateway::ParseGatewayConfig(text, d, cp.dir.path(), *DefaultCatalog());
    REQUIRE_MESSAGE(config, d.ToString());
    cloud_gateway::GatewayObserver observer;
    observer.request_done = [this](const cloud_gateway::LedgerEntry&) { gateway_requests.Push(1); };
    auto gw = cloud_gateway::Gateway::Create(config, observer);
    REQUIRE_MESSAGE(gw.ok(), gw.status().ToString());
    gateway = std::move(*gw);
    REQUIRE(gateway->Start().ok());
  }
  ~World() {
    for (auto& a : cp.agents) a->Shutdown();
    cp.agents.clear();
    gateway->Stop();
  }

  AgentConfig Config(const std::string& id, const std::string& profile, ModeldFixture& runtime) {
    AgentConfig c = cp.AgentConfig(id, profile);
    c.runtime = RuntimeEndpoint{runtime.url(), "", ""};
    c.gateway =
        RuntimeEndpoint{"https://127.0.0.1:" + std::to_string(gateway->tls_port()) + "/v1", "", ""};
    c.ttft_timeout = 1500ms;
    c.stall_timeout = stall_timeout;
    return c;
  }

  Agent& StartSpeaker() {
    return cp.StartAgent(Config("speaker", "smart-speaker", speaker_runtime));
  }

  Agent& StartPhone(const std::string& state = "battery_pct: 80\ncharging: true\n",
                    std::vector<std::string> admit_from = {}) {
    AgentConfig c = Config("phone", "phone-mid", phone_runtime);
    c.peer_listen = "127.0.0.1:0";
    c.admission.from = std::move(admit_from);
    c.state = {};
    c.state.network = NetworkType::kWifi;
    c.state_file = cp.dir.File("phone-state.yaml");
    partita::testing::WriteAtomically(c.state_file, state);
    return cp.StartAgent(c);
  }

  Client SpeakerClient() { return Client(cp.dir.File("speaker.sock")); }

  // Rows in the gateway's ledger once `expected` requests have finished there.
  std::int64_t LedgerRows(std::size_t expected) {
    while (finished_ < expected && gateway_requests.Pop(10s)) ++finished_;
    REQUIRE(gateway->FlushLedger().ok());
    auto db = storage::Database::Open(cp.dir.File("ledger.db"));
    REQUIRE(db.ok());
    return (*db)->QueryInt("SELECT count(*) FROM gateway_requests").value();
  }

  // Long enough that a loaded machine does not stall a stream; the stall tests shorten it.
  std::chrono::milliseconds stall_timeout = 3000ms;
  ControlPlane cp;
  ModeldFixture speaker_runtime{Runtime("milm-1.3b")};
  ModeldFixture phone_runtime{Runtime("milm-7b-moe", 50)};  // slow enough to take whole ms
  ModeldFixture cloud{Runtime("milm-70b-moe")};
  partita::testing::EventQueue<int> gateway_requests;  // one event per request the gateway finished
  std::size_t finished_ = 0;
  std::unique_ptr<cloud_gateway::Gateway> gateway;
};

inline std::string Results(const Answer& a) {
  std::string out;
  for (const AttemptInfo& t : a.trail) {
    if (!out.empty()) out += ">";
    out += std::string(t.tier ? Name(*t.tier) : "?") + ":" + t.result;
  }
  return out;
}

inline const AskOptions kHard = [] {
  AskOptions o;
  o.kind = RequestKind::kReasoning;
  o.max_tokens = 12;
  return o;
}();

}  // namespace partita::agent::testing
