#include "edge_agent/config.h"

#include <filesystem>

#include "backends/chat_client.h"
#include "common/yaml_reader.h"
#include "common/yaml_tree.h"
#include "net/identity.h"
#include "net/pki.h"
#include "net/tls_config.h"
#include "net/tls_listener.h"

namespace partita::agent {

namespace {

std::optional<RuntimeEndpoint> ReadEndpoint(const yaml::Node& node, Diagnostics& d,
                                            const std::string& what) {
  yaml::MapReader r(node, d, what, {"url", "model", "api_key"});
  if (!r.ok()) return std::nullopt;
  RuntimeEndpoint e;
  e.url = r.RequireString("url").value_or("");
  if (!e.url.empty() && e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0) {
    d.Error(r.Get("url")->location, what + " url must start with http:// or https://");
  } else if (Status s = backends::CheckEndpointUrl(e.url); !e.url.empty() && !s.ok()) {
    d.Error(r.Get("url")->location, what + " " + s.message());
  }
  e.model = r.String("model", "");
  e.api_key = r.String("api_key", "");
  return e;
}

void CheckHostPort(const yaml::MapReader& r, std::string_view key, Diagnostics& d) {
  const yaml::Node* n = r.Get(key);
  if (n == nullptr || !n->IsScalar()) return;
  if (!net::SplitHostPort(n->scalar).ok()) {
    d.Error(n->location, "'" + std::string(key) + "' must be host:port, got '" + n->scalar + "'");
  }
}

}  // namespace

std::string DefaultPolicyCachePath(const std::string& app_socket) {
  if (app_socket.empty()) return "";
  std::filesystem::path p(app_socket);
  if (p.extension() == ".sock") p.replace_extension();
  return p.string() + ".policy-cache.yaml";
}

std::string PolicyCachePath(const AgentConfig& config) {
  return config.policy_cache.empty() ? DefaultPolicyCachePath(config.app_socket)
                                     : config.policy_cache;
}

// The keys a config may have.
// clang-format off
constexpr std::string_view kAgentConfigKeys[] = {
    "apiVersion", "kind", "device_id", "profile", "household", "pki_dir", "tls", "router",
    "app_socket", "catalog", "models", "state", "state_file", "offline_policy", "policy_cache", "scorer",
    "heartbeat_interval_ms", "decide_timeout_ms", "connect_timeout_ms", "runtime", "gateway",
    "peer_listen", "peer_advertise", "metrics_listen", "admission", "ttft_timeout_ms",
    "stall_timeout_ms", "warm_minutes", "drain_timeout_ms"};
// clang-format on

std::optional<AgentConfig> ParseAgentConfig(std::string_view yaml_text, Diagnostics& d,
                                            const std::string& base_dir) {
  std::optional<yaml::Node> root = yaml::Parse(yaml_text, d);
  if (!root) return std::nullopt;
  yaml::MapReader r(*root, d, "the agent config", kAgentConfigKeys);
  if (!r.ok()) return std::nullopt;
  AgentConfig c;
  c.file = d.file();
  r.RequireHeader("AgentConfig");
  if (const yaml::Node* v = r.Require("device_id")) {
    if (auto s = yaml::ReadString(*v, d, "device_id")) {
      if (!net::IsValidIdentityName(*s)) {
        d.Error(v->location, "device_id '" + *s + "' must be letters, digits, '.', '_' or '-'");
      }
      c.device_id = *s;
    }
  }
  c.profile = r.RequireString("profile").value_or("");
  c.household = r.String("household", "");
  c.tls = net::ReadTlsFiles(r, d, base_dir, [&](const std::string& pki) {
    return net::DeviceTlsFiles(pki, c.device_id);
  });
  c.router = r.RequireString("router").value_or("");
  CheckHostPort(r, "router", d);
  c.app_socket = yaml::ResolvePath(base_dir, r.RequireString("app_socket").value_or(""));
  c.catalog_file = yaml::ResolvePath(base_dir, r.String("catalog", ""));
  if (const yaml::Node* m = r.Get("models")) {
    if (auto list = yaml::ReadStringList(*m, d, "models")) c.models = *list;
  }
  if (const yaml::Node* s = r.Get("state")) {
    if (auto o = ReadStateOverrides(*s, d)) c.state = *o;
  }
  c.state_file = yaml::ResolvePath(base_dir, r.String("state_file", ""));
  c.offline_policy = yaml::ResolvePath(base_dir, r.String("offline_policy", ""));
  c.scorer = r.String("scorer", c.scorer);
  if (c.scorer != "shipped" && c.scorer != "keywords")
    c.scorer = yaml::ResolvePath(base_dir, c.scorer);
  // The default lives beside the config file, a directory the operator owns and that
  // survives reboots (unlike /tmp, where the app socket usually is).
  c.policy_cache = yaml::ResolvePath(
      base_dir,
      r.String("policy_cache", c.device_id.empty() ? "" : c.device_id + ".policy-cache.yaml"));
  if (c.policy_cache.empty()) c.policy_cache = DefaultPolicyCachePath(c.app_socket);
  c.heartbeat_interval = r.Millis("heartbeat_interval_ms", c.heartbeat_interval, 100, 3.6e6);
  c.decide_timeout = r.Millis("decide_timeout_ms", c.decide_timeout, 1, 600000);
  c.connect_timeout = r.Millis("connect_timeout_ms", c.connect_timeout, 10, 600000);
  c.ttft_timeout = r.Millis("ttft_timeout_ms", c.ttft_timeout, 10, 3.6e6);
  c.stall_timeout = r.Millis("stall_timeout_ms", c.stall_timeout, 10, 3.6e6);
  c.drain_timeout = r.Millis("drain_timeout_ms", c.drain_timeout, 0, 3.6e6);
  c.warm_minutes = std::chrono::minutes(static_cast<int>(r.DoubleIn("warm_minutes", 10, 0, 1440)));
  if (const yaml::Node* n = r.Get("runtime")) c.runtime = ReadEndpoint(*n, d, "runtime");
  if (const yaml::Node* n = r.Get("gateway")) c.gateway = ReadEndpoint(*n, d, "gateway");
  c.peer_listen = r.String("peer_listen", "");
  CheckHostPort(r, "peer_listen", d);
  c.metrics_listen = r.String("metrics_listen", "");
  if (const yaml::Node* n = r.Get("metrics_listen"); n != nullptr && n->IsScalar()) {
    Result<net::tcp::endpoint> ep = net::ParseListenAddress(n->scalar);
    if (!ep.ok() || !ep->address().is_loopback()) {
      d.Error(n->location,
              "'metrics_listen' must be a loopback IP:PORT (127.0.0.1:9466 or "
              "[::1]:9466): it has no authentication");
    }
  }
  c.peer_advertise = r.String("peer_advertise", c.peer_listen);
  CheckHostPort(r, "peer_advertise", d);
  if (const yaml::Node* a = r.Get("admission")) {
    yaml::MapReader ar(*a, d, "admission",
                       {"min_battery_pct", "max_thermal", "max_in_flight", "from"});
    c.admission.min_battery_pct = ar.DoubleIn("min_battery_pct", 20, 0, 100);
    c.admission.max_in_flight = static_cast<int>(ar.DoubleIn("max_in_flight", 2, 1, 1000));
    if (const yaml::Node* v = ar.Get("max_thermal")) {
      const std::vector<std::string_view> names(kThermalNames.begin(), kThermalNames.end());
      if (auto t = yaml::ReadEnum(*v, d, "max_thermal", names))
        c.admission.max_thermal = *ParseThermal(*t);
    }
    if (const yaml::Node* from = ar.Get("from")) {
      if (auto ids = yaml::ReadCheckedStringList(*from, d, "from", net::IsValidIdentityName,
                                                 net::kDeviceIdRule)) {
        c.admission.from = std::move(*ids);
      }
    }
  }
  if (d.has_errors()) return std::nullopt;
  return c;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  Result<std::string> text = yaml::ReadTextFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  Diagnostics d(path);
  std::optional<AgentConfig> c =
      ParseAgentConfig(*text, d, std::filesystem::path(path).parent_path().string());
  if (!c) return d.ToStatus();
  return *c;
}

}  // namespace partita::agent
