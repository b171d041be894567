// A control plane on loopback for integration tests: a real PKI, a router on a free port with
// a real SQLite decision log and a real policy file, and agents with real device certificates.
// Everything lives in a temporary directory.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "edge_agent/agent.h"
#include "net/pki.h"
#include "router/router.h"
#include "tests/testing/temp_dir.h"

namespace partita::testing {

// Writes a file atomically (temp + rename), as editors and deploy tools do.
inline void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

class ControlPlane {
 public:
  ControlPlane() {
    net::PkiInitOptions o;
    o.dir = dir.File("pki");
    o.device_ids = {"speaker", "phone", "car", "intruder"};
    REQUIRE(net::InitPki(o).ok());
    net::PkiInitOptions foreign;
    foreign.dir = dir.File("foreign");
    foreign.device_ids = {"speaker"};
    REQUIRE(net::InitPki(foreign).ok());
    WriteAtomically(policy_path(), ReadSourceFile("policies/library/balanced.yaml"));
  }
  ~ControlPlane() {
    for (auto& a : agents) a->Shutdown();
    if (router) router->Shutdown();
  }

  std::string policy_path() const { return dir.File("policy.yaml"); }
  std::string log_path() const { return dir.File("router.db"); }

  router::RouterConfig RouterConfig() const {
    router::RouterConfig c;
    c.listen = "127.0.0.1:" + std::to_string(port);
    c.metrics_listen = "127.0.0.1:0";
    c.tls = net::RouterTlsFiles(dir.File("pki"));
    c.policy_file = policy_path();
    c.decision_log = log_path();
    c.io_threads = 2;
    c.heartbeat_interval = std::chrono::milliseconds(200);
    c.policy_poll = std::chrono::milliseconds(20);
    c.handshake_timeout =
        std::chrono::milliseconds(1500);  // also the wait for Hello: room for loaded CI
    c.idle_timeout = std::chrono::milliseconds(5000);
    c.households = households;
    c.revoked = revoked;
    return c;
  }

  void StartRouter() {
    Result<std::unique_ptr<router::Router>> r = router::Router::Create(RouterConfig());
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    router = std::move(*r);
    const Status started = router->Start();
    REQUIRE_MESSAGE(started.ok(), started.ToString());
    // The first start takes a port the system picks (a port found free and bound later can be
    // taken meanwhile by another test's outgoing connection); restarts keep it.
    port = router->agent_endpoint().port();
  }

  void StopRouter() {
    router->Shutdown();
    router.reset();
  }

  agent::AgentConfig AgentConfig(const std::string& id, const std::string& profile) const {
    agent::AgentConfig c;
    c.device_id = id;
    c.profile = profile;
    c.household = "home";
    c.tls = net::DeviceTlsFiles(dir.File("pki"), id);
    c.router = "127.0.0.1:" + std::to_string(port);
    c.app_socket = dir.File(id + ".sock");
    c.heartbeat_interval = std::chrono::milliseconds(200);
    c.decide_timeout = std::chrono::milliseconds(2000);
    c.state.network = NetworkType::kWifi;
    c.state.battery_pct = 80;
    c.state.charging = false;
    c.state.thermal = Thermal::kNominal;
    return c;
  }

  agent::Agent& StartAgent(agent::AgentConfig config, bool wait_connected = true) {
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Create(std::move(config));
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    REQUIRE((*a)->Start().ok());
    agents.push_back(std::move(*a));
    if (wait_connected) {
      REQUIRE_MESSAGE(agents.back()->WaitConnected(true, std::chrono::seconds(10)),
                      "agent did not connect");
    }
    return *agents.back();
  }

  TempDir dir;
  // router.yaml's `households:` and `revoked:` for the next StartRouter().
  std::map<std::string, std::string> households = {
      {"speaker", "home"}, {"phone", "home"}, {"car", "home"}};
  std::vector<std::string> revoked = {"intruder"};
  std::uint16_t port = 0;  // the router's agent port, once it has started
  std::unique_ptr<router::Router> router;
  std::vector<std::unique_ptr<agent::Agent>> agents;
};

// The value of one series in a Prometheus text rendering (0 when absent).
inline double MetricValue(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace partita::testing
