// gateway.yaml: the cloud gateway's configuration as a typed, validated model.
//
// Parsed only through common/yaml_tree.h + yaml_reader.h: every problem is reported as
// FILE:LINE:COL: error: ... in one pass, unknown keys get a did-you-mean. The format, with a
// worked example that tests load, is docs/gateway.md. Prices come from the device catalog for
// catalog models and can be set per model (required for models the catalog does not know).
// Loading is blocking file I/O: do it at start-up. The result is immutable and shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloud_gateway/rate_limit.h"
#include "common/diagnostic.h"
#include "common/status.h"
#include "device_profiles/catalog_loader.h"

namespace partita::cloud_gateway {

struct UpstreamConfig {
  std::string name;     // unique within its model; a metrics label and a ledger column
  std::string url;      // OpenAI-compatible base URL ("http://10.0.0.5:8000/v1")
  int priority = 0;     // lower is preferred; equal priorities share load round robin
  std::string model;    // the model name the upstream serves; empty: the requested name
  std::string api_key;  // resolved from api_key_env at load time (never written in YAML)
  std::string api_key_env;
  std::string ca_file;                    // https: extra CA bundle instead of the system store
  std::size_t max_idle_connections = 64;  // keep-alive pool per I/O thread
};

// An answer's length when the request sets no max_tokens, and the most any request gets.
inline constexpr std::int64_t kDefaultModelMaxTokens = 4096;

struct ModelConfig {
  std::string name;  // what devices ask for in "model"
  double input_usd_per_1m_tokens = 0;
  double output_usd_per_1m_tokens = 0;
  // The answer length for requests without max_tokens, and the cap for those asking more.
  std::int64_t max_tokens = kDefaultModelMaxTokens;
  std::vector<UpstreamConfig> upstreams;  // sorted by priority
};

struct TlsFrontConfig {
  std::string listen;  // "0.0.0.0:8443"
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds handshake_timeout{5000};
  // Connections one certificate may hold open (a device's keep-alive pool); more are refused.
  std::size_t max_connections_per_device = 64;
};

struct PlaintextFrontConfig {
  std::string listen;  // loopback only
  std::string device;  // identity for requests without an X-Partita-Device header; may be empty
};

struct BudgetConfig {
  double fleet_usd_per_day = 0;                        // 0: unlimited
  double device_usd_per_day = 0;                       // default per device; 0: unlimited
  std::map<std::string, double, std::less<>> devices;  // per-device overrides
};

struct GatewayConfig {
  std::string source_file;
  std::string source_stamp;  // common/file_stamp.h of source_file when it was read; "" = text
  std::optional<TlsFrontConfig> tls;
  std::optional<PlaintextFrontConfig> plaintext;
  std::string metrics_listen;  // loopback HTTP: /metrics, /v1/partita/health; empty: off
  int threads = 2;
  std::int64_t capacity = 256;  // in-flight requests at load 1.0; more are refused with 503
  std::size_t max_body_bytes = 1u << 20;
  std::size_t max_header_bytes = 16u << 10;
  std::string ledger_path;
  std::string catalog_path;  // empty: the built-in catalog
  std::chrono::milliseconds drain_timeout{10000};
  // Devices refused with 403 device_revoked. The gateway re-reads this list (and only this)
  // from its file every config_poll when the file changed; other settings apply at restart.
  std::vector<std::string> revoked;
  std::chrono::milliseconds config_poll{1000};

  // Upstream calls.
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds first_token_timeout{15000};
  std::chrono::milliseconds between_chunks_timeout{10000};
  std::chrono::milliseconds total_timeout{120000};

  // Device connections.
  std::chrono::milliseconds client_idle_timeout{60000};   // keep-alive wait for the next request
  std::chrono::milliseconds client_head_timeout{5000};    // a head, once its first byte came
  std::chrono::milliseconds client_read_timeout{10000};   // a request's body once its head came
  std::chrono::milliseconds client_write_timeout{30000};  // each write to a (slow) device

  // Passive health.
  int eject_after_failures = 5;
  std::chrono::milliseconds eject_duration{30000};
  std::chrono::milliseconds max_eject_duration{300000};

  // Retry budget.
  double retry_budget_ratio = 0.2;
  int retry_min_concurrent = 3;

  BudgetConfig budgets;
  RateLimitConfig rate_limits;
  std::vector<ModelConfig> models;

  const ModelConfig* FindModel(std::string_view name) const;
};

using GatewayConfigPtr = std::shared_ptr<const GatewayConfig>;

// Parses gateway.yaml text. Relative paths (TLS files, ledger, catalog) are resolved against
// `base_dir`. `catalog` gives prices for models without a price block. On failure returns
// nullptr with every problem in `diagnostics`.
GatewayConfigPtr ParseGatewayConfig(std::string_view text, Diagnostics& diagnostics,
                                    const std::string& base_dir, const Catalog& catalog);

// Reads and parses a file (relative paths resolve against its directory). The catalog is the
// file's `catalog:` or the built-in one.
Result<GatewayConfigPtr> LoadGatewayConfig(const std::string& path);

}  // namespace partita::cloud_gateway
