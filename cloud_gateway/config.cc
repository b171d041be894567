#include "cloud_gateway/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "backends/chat_client.h"
#include "common/file_stamp.h"
#include "common/yaml_reader.h"
#include "common/yaml_tree.h"
#include "net/identity.h"
#include "net/tls_listener.h"

namespace partita::cloud_gateway {

namespace {

using yaml::MapReader;
using yaml::Node;

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// A whole number in [lo, hi] at `key`, or `fallback` when absent.
std::int64_t IntIn(const MapReader& m, Diagnostics& d, std::string_view key, std::int64_t fallback,
                   std::int64_t lo, std::int64_t hi) {
  const Node* n = m.Get(key);
  if (n == nullptr) return fallback;
  std::optional<std::int64_t> v = yaml::ReadInt(*n, d, key);
  if (!v) return fallback;
  if (*v < lo || *v > hi) {
    d.Error(n->location, "'" + std::string(key) + "' is " + std::to_string(*v) +
                             "; it must be between " + std::to_string(lo) + " and " +
                             std::to_string(hi));
    return fallback;
  }
  return *v;
}

std::chrono::milliseconds Millis(const MapReader& m, Diagnostics& d, std::string_view key,
                                 std::chrono::milliseconds fallback) {
  return std::chrono::milliseconds(IntIn(m, d, key, fallback.count(), 1, 24LL * 3600 * 1000));
}

void CheckListen(const Node* node, Diagnostics& d, std::string_view key, bool loopback_only) {
  if (node == nullptr) return;
  Result<net::tcp::endpoint> ep = net::ParseListenAddress(node->scalar);
  if (!ep.ok()) {
    d.Error(node->location, "'" + std::string(key) + "': " + ep.status().message());
    return;
  }
  if (loopback_only && !ep->address().is_loopback()) {
    d.Error(node->location, "'" + std::string(key) +
                                "' must be a loopback address (127.0.0.1 or "
                                "::1): this front has no authentication");
  }
}

void ReadTimeouts(const Node& node, Diagnostics& d, GatewayConfig& c) {
  MapReader m(node, d, "'timeouts'",
              {"connect_ms", "first_token_ms", "between_chunks_ms", "total_ms"});
  if (!m.ok()) return;
  c.connect_timeout = Millis(m, d, "connect_ms", c.connect_timeout);
  c.first_token_timeout = Millis(m, d, "first_token_ms", c.first_token_timeout);
  c.between_chunks_timeout = Millis(m, d, "between_chunks_ms", c.between_chunks_timeout);
  c.total_timeout = Millis(m, d, "total_ms", c.total_timeout);
}

void ReadClients(const Node& node, Diagnostics& d, GatewayConfig& c) {
  MapReader m(node, d, "'clients'",
              {"idle_timeout_ms", "head_timeout_ms", "read_timeout_ms", "write_timeout_ms"});
  if (!m.ok()) return;
  c.client_idle_timeout = Millis(m, d, "idle_timeout_ms", c.client_idle_timeout);
  c.client_head_timeout = Millis(m, d, "head_timeout_ms", c.client_head_timeout);
  c.client_read_timeout = Millis(m, d, "read_timeout_ms", c.client_read_timeout);
  c.client_write_timeout = Millis(m, d, "write_timeout_ms", c.client_write_timeout);
}

void ReadHealth(const Node& node, Diagnostics& d, GatewayConfig& c) {
  MapReader m(node, d, "'health'", {"eject_after_failures", "eject_ms", "max_eject_ms"});
  if (!m.ok()) return;
  c.eject_after_failures =
      static_cast<int>(IntIn(m, d, "eject_after_failures", c.eject_after_failures, 1, 1000));
  c.eject_duration = Millis(m, d, "eject_ms", c.eject_duration);
  c.max_eject_duration = Millis(m, d, "max_eject_ms", c.max_eject_duration);
  if (c.max_eject_duration < c.eject_duration) {
    d.Error(node.location, "'max_eject_ms' must not be smaller than 'eject_ms'");
  }
}

void ReadRetry(const Node& node, Diagnostics& d, GatewayConfig& c) {
  MapReader m(node, d, "'retry'", {"budget_ratio", "min_concurrent"});
  if (!m.ok()) return;
  c.retry_budget_ratio = m.DoubleIn("budget_ratio", c.retry_budget_ratio, 0, 1);
  c.retry_min_concurrent =
      static_cast<int>(IntIn(m, d, "min_concurrent", c.retry_min_concurrent, 0, 100000));
}

void ReadBudgets(const Node& node, Diagnostics& d, BudgetConfig& b) {
  MapReader m(node, d, "'budgets'", {"fleet_usd_per_day", "device_usd_per_day", "devices"});
  if (!m.ok()) return;
  b.fleet_usd_per_day = m.DoubleIn("fleet_usd_per_day", 0, 0, 1e6);
  b.device_usd_per_day = m.DoubleIn("device_usd_per_day", 0, 0, 1e6);
  if (const Node* devices = m.Get("devices")) {
    if (!devices->IsMap()) {
      d.Error(devices->location, "expected a map of device id to USD per day for 'devices'");
      return;
    }
    for (const auto& [key, value] : devices->entries) {
      if (!net::IsValidIdentityName(key.scalar)) {
        d.Error(key.location, "'" + key.scalar + "' is not a device id ([A-Za-z0-9._-], 1 to 64)");
        continue;
      }
      std::optional<double> usd = yaml::ReadDoubleIn(value, d, key.scalar, 0, 1e6);
      if (usd) b.devices[key.scalar] = *usd;
    }
  }
}

void ReadRateLimits(const Node& node, Diagnostics& d, RateLimitConfig& c) {
  MapReader m(node, d, "'rate_limits'", {"requests_per_minute", "tokens_per_minute", "devices"});
  if (!m.ok()) return;
  c.device.requests_per_minute = m.DoubleIn("requests_per_minute", 0, 0, 1e9);
  c.device.tokens_per_minute = m.DoubleIn("tokens_per_minute", 0, 0, 1e12);
  const Node* devices = m.Get("devices");
  if (devices == nullptr) return;
  if (!devices->IsMap()) {
    d.Error(devices->location, "expected a map of device id to limits for 'devices'");
    return;
  }
  for (const auto& [key, value] : devices->entries) {
    if (!net::IsValidIdentityName(key.scalar)) {
      d.Error(key.location, "'" + key.scalar + "' is not a device id ([A-Za-z0-9._-], 1 to 64)");
      continue;
    }
    MapReader dm(value, d, "the limits of '" + key.scalar + "'",
                 {"requests_per_minute", "tokens_per_minute"});
    if (!dm.ok()) continue;
    RateLimit& r = c.devices[key.scalar];
    r.requests_per_minute =
        dm.DoubleIn("requests_per_minute", c.device.requests_per_minute, 0, 1e9);
    r.tokens_per_minute = dm.DoubleIn("tokens_per_minute", c.device.tokens_per_minute, 0, 1e12);
  }
}

void ReadUpstream(const Node& node, Diagnostics& d, const std::string& base_dir,
                  UpstreamConfig& u) {
  MapReader m(
      node, d, "an upstream",
      {"name", "url", "priority", "model", "api_key_env", "ca_file", "max_idle_connections"});
  if (!m.ok()) return;
  if (auto name = m.RequireString("name")) {
    u.name = *name;
    if (!net::IsValidIdentityName(u.name)) {
      d.Error(m.Get("name")->location,
              "upstream name '" + u.name + "' must be 1 to 64 of [A-Za-z0-9._-]");
    }
  }
  if (auto url = m.RequireString("url")) {
    u.url = *url;
    if (!u.url.starts_with("http://") && !u.url.starts_with("https://")) {
      d.Error(m.Get("url")->location,
              "'url' must start with http:// or https:// (e.g. "
              "http://127.0.0.1:8000/v1)");
    } else if (Status s = backends::CheckEndpointUrl(u.url); !s.ok()) {
      d.Error(m.Get("url")->location, s.message());
    }
  }
  u.priority = static_cast<int>(IntIn(m, d, "priority", 0, 0, 1000));
  u.model = m.String("model", "");
  u.api_key_env = m.String("api_key_env", "");
  if (!u.api_key_env.empty()) {
    const char* key = std::getenv(u.api_key_env.c_str());
    if (key == nullptr || *key == '\0') {
      d.Error(m.Get("api_key_env")->location,
              "environment variable '" + u.api_key_env + "' (api_key_env) is not set");
    } else {
      u.api_key = key;
    }
  }
  u.ca_file = Resolve(base_dir, m.String("ca_file", ""));
  u.max_idle_connections =
      static_cast<std::size_t>(IntIn(m, d, "max_idle_connections", 64, 0, 100000));
}

void ReadModel(const Node& node, Diagnostics& d, const std::string& base_dir,
               const Catalog& catalog, ModelConfig& model) {
  MapReader m(node, d, "a model", {"name", "price", "max_tokens", "upstreams"});
  if (!m.ok()) return;
  if (auto name = m.RequireString("name")) model.name = *name;
  model.max_tokens = IntIn(m, d, "max_tokens", kDefaultModelMaxTokens, 1, 10'000'000);
  bool priced = false;
  if (const Node* price = m.Get("price")) {
    MapReader p(*price, d, "'price'", {"input_usd_per_1m_tokens", "output_usd_per_1m_tokens"});
    if (p.ok()) {
      auto in = p.RequireDoubleIn("input_usd_per_1m_tokens", 0, 1e6);
      auto out = p.RequireDoubleIn("output_usd_per_1m_tokens", 0, 1e6);
      if (in && out) {
        model.input_usd_per_1m_tokens = *in;
        model.output_usd_per_1m_tokens = *out;
      }
      priced = true;
    }
  } else if (!model.name.empty()) {
    if (std::optional<ModelIndex> i = catalog.FindModel(model.name)) {
      model.input_usd_per_1m_tokens = catalog.model(*i).price_usd_per_1m_input_tokens;
      model.output_usd_per_1m_tokens = catalog.model(*i).price_usd_per_1m_output_tokens;
      priced = true;
    }
  }
  if (!priced && !model.name.empty()) {
    d.Error(node.location, "model '" + model.name +
                               "' is not in the catalog, so it needs a 'price' block "
                               "(input_usd_per_1m_tokens, output_usd_per_1m_tokens)");
  }
  const Node* ups = m.Require("upstreams");
  if (ups == nullptr) return;
  if (!ups->IsSequence() || ups->items.empty() || ups->items.size() > 32) {
    d.Error(ups->location, "'upstreams' must be a list of 1 to 32 upstreams");
    return;
  }
  std::set<std::string> names;
  for (const Node& item : ups->items) {
    UpstreamConfig u;
    ReadUpstream(item, d, base_dir, u);
    if (!u.name.empty() && !names.insert(u.name).second) {
      d.Error(item.location,
              "upstream name '" + u.name + "' is used twice in model '" + model.name + "'");
    }
    model.upstreams.push_back(std::move(u));
  }
  std::stable_sort(
      model.upstreams.begin(), model.upstreams.end(),
      [](const UpstreamConfig& a, const UpstreamConfig& b) { return a.priority < b.priority; });
}

}  // namespace

const ModelConfig* GatewayConfig::FindModel(std::string_view name) const {
  for (const ModelConfig& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

GatewayConfigPtr ParseGatewayConfig(std::string_view text, Diagnostics& d,
                                    const std::string& base_dir, const Catalog& catalog) {
  std::optional<Node> root = yaml::Parse(text, d);
  if (!root) return nullptr;
  auto c = std::make_shared<GatewayConfig>();
  c->source_file = d.file();
  MapReader m(*root, d, "gateway.yaml",
              {"listen",
               "tls",
               "plaintext",
               "metrics_listen",
               "threads",
               "capacity",
               "max_body_bytes",
               "max_header_bytes",
               "ledger",
               "catalog",
               "drain_timeout_ms",
               "timeouts",
               "clients",
               "health",
               "retry",
               "budgets",
               "rate_limits",
               "models",
               "revoked",
               "config_poll_ms"});
  if (!m.ok()) return nullptr;

  const Node* listen = m.Get("listen");
  const Node* tls = m.Get("tls");
  if (listen != nullptr || tls != nullptr) {
    TlsFrontConfig t;
    if (listen == nullptr) {
      d.Error(tls->location, "'tls' needs 'listen' (the address of the TLS front)");
    } else {
      t.listen = listen->scalar;
      CheckListen(listen, d, "listen", false);
    }
    if (tls == nullptr) {
      d.Error(listen->location, "'listen' needs a 'tls' block (ca, cert, key)");
    } else {
      MapReader tm(*tls, d, "'tls'",
                   {"ca", "cert", "key", "handshake_timeout_ms", "max_connections_per_device"});
      if (tm.ok()) {
        t.max_connections_per_device = static_cast<std::size_t>(
            IntIn(tm, d, "max_connections_per_device",
                  static_cast<std::int64_t>(t.max_connections_per_device), 1, 100000));
        if (auto v = tm.RequireString("ca")) t.ca_file = Resolve(base_dir, *v);
        if (auto v = tm.RequireString("cert")) t.cert_file = Resolve(base_dir, *v);
        if (auto v = tm.RequireString("key")) t.key_file = Resolve(base_dir, *v);
        t.handshake_timeout = Millis(tm, d, "handshake_timeout_ms", t.handshake_timeout);
      }
    }
    c->tls = std::move(t);
  }
  if (const Node* plain = m.Get("plaintext")) {
    MapReader pm(*plain, d, "'plaintext'", {"listen", "device"});
    if (pm.ok()) {
      PlaintextFrontConfig p;
      if (auto v = pm.RequireString("listen")) {
        p.listen = *v;
        CheckListen(pm.Get("listen"), d, "plaintext.listen", true);
      }
      p.device = pm.String("device", "");
      if (!p.device.empty() && !net::IsValidIdentityName(p.device)) {
        d.Error(pm.Get("device")->location,
                "'" + p.device + "' is not a device id ([A-Za-z0-9._-], 1 to 64)");
      }
      c->plaintext = std::move(p);
    }
  }
  if (!c->tls && !c->plaintext) {
    d.Error(root->location,
            "gateway.yaml needs 'listen' + 'tls' (the device front) or "
            "'plaintext' (loopback benchmarking)");
  }
  if (const Node* ml = m.Get("metrics_listen")) {
    c->metrics_listen = ml->scalar;
    CheckListen(ml, d, "metrics_listen", true);
  }
  c->threads = static_cast<int>(IntIn(m, d, "threads", c->threads, 1, 64));
  c->capacity = IntIn(m, d, "capacity", c->capacity, 1, 1000000);
  c->max_body_bytes =
      static_cast<std::size_t>(IntIn(m, d, "max_body_bytes", 1 << 20, 256, 64 << 20));
  c->max_header_bytes =
      static_cast<std::size_t>(IntIn(m, d, "max_header_bytes", 16 << 10, 1024, 1 << 20));
  if (auto ledger = m.RequireString("ledger")) c->ledger_path = Resolve(base_dir, *ledger);
  c->catalog_path = Resolve(base_dir, m.String("catalog", ""));
  c->drain_timeout = Millis(m, d, "drain_timeout_ms", c->drain_timeout);
  c->config_poll =
      std::chrono::milliseconds(IntIn(m, d, "config_poll_ms", c->config_poll.count(), 10, 60000));
  if (const Node* rv = m.Get("revoked")) {
    if (auto ids = yaml::ReadCheckedStringList(*rv, d, "revoked", net::IsValidIdentityName,
                                               net::kDeviceIdRule)) {
      c->revoked = std::move(*ids);
    }
  }
  if (const Node* n = m.Get("timeouts")) ReadTimeouts(*n, d, *c);
  if (const Node* n = m.Get("clients")) ReadClients(*n, d, *c);
  if (const Node* n = m.Get("health")) ReadHealth(*n, d, *c);
  if (const Node* n = m.Get("retry")) ReadRetry(*n, d, *c);
  if (const Node* n = m.Get("budgets")) ReadBudgets(*n, d, c->budgets);
  if (const Node* n = m.Get("rate_limits")) ReadRateLimits(*n, d, c->rate_limits);

  if (const Node* models = m.Require("models")) {
    if (!models->IsSequence() || models->items.empty()) {
      d.Error(models->location, "'models' must be a non-empty list");
    } else {
      std::set<std::string> names;
      for (const Node& item : models->items) {
        ModelConfig model;
        ReadModel(item, d, base_dir, catalog, model);
        if (!model.name.empty() && !names.insert(model.name).second) {
          d.Error(item.location, "model '" + model.name + "' is listed twice");
        }
        c->models.push_back(std::move(model));
      }
    }
  }
  if (d.has_errors()) return nullptr;
  return c;
}

Result<GatewayConfigPtr> LoadGatewayConfig(const std::string& path) {
  // Before reading: a change made while the file is read shows as a change afterwards.
  const std::string stamp = FileStamp(path);
  Result<std::string> text = yaml::ReadTextFile(path);
  if (!text.ok()) return text.status();
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  // The catalog named in the file gives prices; read it first (a second, cheap parse).
  std::string catalog_path;
  {
    Diagnostics ignored(path);
    if (std::optional<Node> root = yaml::Parse(*text, ignored)) {
      if (const Node* c = root->Find("catalog"); c != nullptr && c->IsScalar()) {
        catalog_path = Resolve(base_dir, c->scalar);
      }
    }
  }
  Result<CatalogPtr> catalog = LoadCatalogOrDefault(catalog_path);
  if (!catalog.ok()) return catalog.status();
  Diagnostics d(path);
  GatewayConfigPtr config = ParseGatewayConfig(*text, d, base_dir, **catalog);
  if (!config) return d.ToStatus();
  auto stamped = std::make_shared<GatewayConfig>(*config);
  stamped->source_stamp = stamp;
  return GatewayConfigPtr(std::move(stamped));
}

}  // namespace partita::cloud_gateway
