// The router's configuration file (`kind: RouterConfig`), documented in docs/router.md.
// Loaded once at start-up with located errors; relative paths are resolved against the
// config file's directory. Plain value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "common/status.h"
#include "net/tls.h"

namespace partita::router {

struct CloudContext {
  bool healthy = true;  // used when no health_url, or until the first poll answers
  double load = 0;
  std::string health_url;  // gateway health endpoint (HTTPS, polled with the router's cert)
  std::chrono::milliseconds poll_interval{2000};
};

struct RouterConfig {
  std::string file;
  std::string listen = "127.0.0.1:7443";
  std::string metrics_listen = "127.0.0.1:9464";  // "" = no metrics endpoint
  net::TlsFiles tls;
  std::string policy_file;
  std::string catalog_file;  // "" = built-in catalog
  std::string decision_log;  // SQLite file
  int io_threads = 2;
  std::chrono::milliseconds heartbeat_interval{5000};
  std::chrono::milliseconds offline_after{15000};  // no heartbeat for this long: offline
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};  // no frame for this long: disconnect
  std::chrono::milliseconds policy_poll{250};     // how often the policy file is checked
  std::uint32_t max_frame_bytes = 1u << 20;
  // Connections one device certificate may hold open; the rest are refused after the handshake.
  std::size_t max_connections_per_device = 4;
  double budget_usd_per_day = 1e12;  // fleet.budget_left_usd
  CloudContext cloud;
  std::map<std::string, std::string> households;  // device id -> household (overrides Hello)
  std::vector<std::string> revoked;               // device ids refused at handshake
  bool durable_fsync = false;                     // synchronous=FULL for the decision log
  // The file this was loaded from: the router re-reads its `revoked` list when it changes.
  // "" (a config built in code) = not watched.
  std::string config_path;
};

std::optional<RouterConfig> ParseRouterConfig(std::string_view yaml_text, Diagnostics& d,
                                              const std::string& base_dir);
Result<RouterConfig> LoadRouterConfig(const std::string& path);

}  // namespace partita::router
