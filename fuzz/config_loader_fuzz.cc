// Fuzzes the daemon config loaders and the agent's state-override file on arbitrary text:
// RouterConfig, AgentConfig, GatewayConfig and the state file all go through the strict YAML
// layer.
// Invariants: no crash or hang; a rejected input always has a located or file-level error.
#include <cstdint>
#include <string_view>

#include "cloud_gateway/config.h"
#include "edge_agent/config.h"
#include "edge_agent/device_state.h"
#include "router/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    partita::Diagnostics d("router.yaml");
    if (!partita::router::ParseRouterConfig(text, d, "/base") && !d.has_errors()) __builtin_trap();
  }
  {
    partita::Diagnostics d("agent.yaml");
    if (!partita::agent::ParseAgentConfig(text, d, "/base") && !d.has_errors()) __builtin_trap();
  }
  {
    static const partita::CatalogPtr catalog = partita::DefaultCatalog();
    partita::Diagnostics d("gateway.yaml");
    if (!partita::cloud_gateway::ParseGatewayConfig(text, d, "/base", *catalog) &&
        !d.has_errors()) {
      __builtin_trap();
    }
  }
  {
    partita::Diagnostics d("state.yaml");
    if (!partita::agent::ParseStateOverrides(text, d) && !d.has_errors()) __builtin_trap();
  }
  return 0;
}
