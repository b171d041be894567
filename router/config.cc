#include "router/config.h"

#include <filesystem>

#include "common/yaml_reader.h"
#include "common/yaml_tree.h"
#include "net/identity.h"
#include "net/pki.h"
#include "net/tls_config.h"
#include "net/tls_listener.h"

namespace partita::router {

namespace {

void CheckAddress(const yaml::MapReader& r, std::string_view key, Diagnostics& d,
                  bool loopback_only = false) {
  const yaml::Node* n = r.Get(key);
  if (n == nullptr || !n->IsScalar() || n->scalar.empty()) return;
  Result<net::tcp::endpoint> ep = net::ParseListenAddress(n->scalar);
  if (!ep.ok()) {
    d.Error(n->location, "'" + std::string(key) + "' must be IP:PORT (e.g. 127.0.0.1:7443), got '" +
                             n->scalar + "'");
  } else if (loopback_only && !ep->address().is_loopback()) {
    d.Error(n->location, "'" + std::string(key) +
                             "' must be a loopback address (127.0.0.1 or ::1): it has no "
                             "authentication; scrape it from the same host or through a proxy");
  }
}

}  // namespace

// The keys a config may have.
// clang-format off
constexpr std::string_view kRouterConfigKeys[] = {
    "apiVersion", "kind", "listen", "metrics_listen", "tls", "pki_dir", "policy", "catalog",
    "decision_log", "io_threads", "heartbeat_interval_ms", "offline_after_ms",
    "handshake_timeout_ms", "idle_timeout_ms", "policy_poll_ms", "max_frame_bytes",
    "max_connections_per_device", "budget_usd_per_day", "cloud", "households", "revoked",
    "durable_fsync"};
// clang-format on

std::optional<RouterConfig> ParseRouterConfig(std::string_view yaml_text, Diagnostics& d,
                                              const std::string& base_dir) {
  std::optional<yaml::Node> root = yaml::Parse(yaml_text, d);
  if (!root) return std::nullopt;
  yaml::MapReader r(*root, d, "the router config", kRouterConfigKeys);
  if (!r.ok()) return std::nullopt;
  RouterConfig c;
  c.file = d.file();
  r.RequireHeader("RouterConfig");
  c.listen = r.String("listen", c.listen);
  CheckAddress(r, "listen", d);
  c.metrics_listen = r.String("metrics_listen", c.metrics_listen);
  CheckAddress(r, "metrics_listen", d, /*loopback_only=*/true);
  c.tls = net::ReadTlsFiles(r, d, base_dir, net::RouterTlsFiles);
  c.policy_file = yaml::ResolvePath(base_dir, r.RequireString("policy").value_or(""));
  c.catalog_file = yaml::ResolvePath(base_dir, r.String("catalog", ""));
  c.decision_log = yaml::ResolvePath(base_dir, r.RequireString("decision_log").value_or(""));
  c.io_threads = static_cast<int>(r.DoubleIn("io_threads", 2, 1, 64));
  c.heartbeat_interval = r.Millis("heartbeat_interval_ms", c.heartbeat_interval, 100, 3.6e6);
  c.offline_after = r.Millis("offline_after_ms", c.offline_after, 100, 3.6e6);
  c.handshake_timeout = r.Millis("handshake_timeout_ms", c.handshake_timeout, 10, 600000);
  c.idle_timeout = r.Millis("idle_timeout_ms", c.idle_timeout, 100, 3.6e6);
  c.policy_poll = r.Millis("policy_poll_ms", c.policy_poll, 10, 60000);
  c.max_frame_bytes =
      static_cast<std::uint32_t>(r.DoubleIn("max_frame_bytes", c.max_frame_bytes, 1024, 64 << 20));
  c.max_connections_per_device = static_cast<std::size_t>(
      r.DoubleIn("max_connections_per_device", c.max_connections_per_device, 1, 10000));
  c.budget_usd_per_day = r.DoubleIn("budget_usd_per_day", c.budget_usd_per_day, 0, 1e15);
  c.durable_fsync = r.Bool("durable_fsync", false);
  if (const yaml::Node* cloud = r.Get("cloud")) {
    yaml::MapReader cr(*cloud, d, "cloud", {"healthy", "load", "health_url", "poll_interval_ms"});
    c.cloud.healthy = cr.Bool("healthy", true);
    c.cloud.load = cr.DoubleIn("load", 0, 0, 1);
    c.cloud.health_url = cr.String("health_url", "");
    c.cloud.poll_interval = cr.Millis("poll_interval_ms", c.cloud.poll_interval, 100, 3.6e6);
  }
  if (const yaml::Node* hh = r.Get("households")) {
    if (!hh->IsMap()) {
      d.Error(hh->location, "'households' maps device ids to household names");
    } else {
      for (const auto& [k, v] : hh->entries) {
        if (!net::IsValidIdentityName(k.scalar)) {
          d.Error(k.location, "'" + k.scalar + "' is not a valid device id");
        }
        if (auto name = yaml::ReadString(v, d, "household")) c.households[k.scalar] = *name;
      }
    }
  }
  if (const yaml::Node* rv = r.Get("revoked")) {
    if (auto ids = yaml::ReadCheckedStringList(*rv, d, "revoked", net::IsValidIdentityName,
                                               net::kDeviceIdRule)) {
      c.revoked = *ids;
    }
  }
  if (d.has_errors()) return std::nullopt;
  return c;
}

Result<RouterConfig> LoadRouterConfig(const std::string& path) {
  Result<std::string> text = yaml::ReadTextFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  Diagnostics d(path);
  std::optional<RouterConfig> c =
      ParseRouterConfig(*text, d, std::filesystem::path(path).parent_path().string());
  if (!c) return d.ToStatus();
  c->config_path = path;
  return *c;
}

}  // namespace partita::router
