// The edge agent's configuration file (`kind: AgentConfig`), documented in docs/agent.md.
// Loaded once at start-up with located errors; relative paths resolve against the file's
// directory. Plain value type.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "common/status.h"
#include "edge_agent/device_state.h"
#include "net/tls.h"

namespace partita::agent {

// An OpenAI-compatible endpoint (the device's local runtime, or the cloud gateway).
struct RuntimeEndpoint {
  std::string url;      // e.g. http://127.0.0.1:8080/v1 (llama.cpp server), https://gw:8443/v1
  std::string model;    // the model name the runtime expects; "" = the catalog name
  std::string api_key;  // sent as "Authorization: Bearer ..." when set
};

struct Admission {
  double min_battery_pct = 20;           // decline offloads below this unless charging
  Thermal max_thermal = Thermal::kFair;  // and when hotter than this
  int max_in_flight = 2;
  // Accept offloads only from these device ids (the household's speakers, car...); empty: from
  // the devices of this phone's household, as the router names them (router.yaml's
  // `households:` or the devices' certificates). Revoked devices are refused either way.
  std::vector<std::string> from;
};

struct AgentConfig {
  std::string file;
  std::string device_id;
  std::string profile;
  std::string household;
  net::TlsFiles tls;
  std::string router;               // host:port
  std::string app_socket;           // unix socket path for apps (the SDK)
  std::string catalog_file;         // "" = built-in catalog
  std::vector<std::string> models;  // installed models; empty = the profile's runtimes
  StateOverrides state;             // fixed overrides of the system's readings
  std::string state_file;           // watched overrides (a YAML map, docs/agent.md)
  std::string offline_policy;       // policy used before the router sends one ("" = none)
  // How request.difficulty is computed: "keywords" (the heuristic, the default until a shipped
  // model covers commands and chat: docs/routing.md), "shipped" (the scorer model in the
  // binary) or a scorer model file.
  std::string scorer = "keywords";
  // The last policy the router pushed, kept across restarts. From a config file it defaults to
  // "<device_id>.policy-cache.yaml" beside the file; "" (a config built in code) =
  // DefaultPolicyCachePath.
  std::string policy_cache;
  std::chrono::milliseconds heartbeat_interval{5000};
  std::chrono::milliseconds decide_timeout{500};  // then the agent decides offline
  std::chrono::milliseconds connect_timeout{3000};
  std::optional<RuntimeEndpoint> runtime;  // device tier
  std::optional<RuntimeEndpoint> gateway;  // cloud tier
  std::string peer_listen;                 // host:port: accept phone-tier offloads ("" = no)
  std::string peer_advertise;              // host:port told to the router ("" = peer_listen)
  std::string metrics_listen;  // loopback IP:PORT for GET /metrics ("" = off, the default)
  Admission admission;
  std::chrono::milliseconds ttft_timeout{4000};   // per tier: no first token by then, fall back
  std::chrono::milliseconds stall_timeout{2000};  // no chunk for this long mid-stream
  std::chrono::minutes warm_minutes{10};  // a model the runtime ran counts as loaded this long
  // On shutdown, how long asks in progress may take to finish before they are cut off.
  std::chrono::milliseconds drain_timeout{10000};
};

// Where the policy cache lives when the config does not say: next to the app socket (a
// directory the agent must be able to write), "<app_socket minus .sock>.policy-cache.yaml".
std::string DefaultPolicyCachePath(const std::string& app_socket);
// The config's policy_cache, or the default.
std::string PolicyCachePath(const AgentConfig& config);

std::optional<AgentConfig> ParseAgentConfig(std::string_view yaml_text, Diagnostics& d,
                                            const std::string& base_dir);
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace partita::agent
