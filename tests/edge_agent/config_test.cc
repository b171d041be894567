#include "edge_agent/config.h"

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace partita::agent {
namespace {

TEST_CASE("The example agent configs load") {
  for (const char* name : {"speaker", "phone", "car"}) {
    Result<AgentConfig> c =
        LoadAgentConfig(std::string(PARTITA_SOURCE_DIR) + "/examples/" + name + ".yaml");
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    CHECK(c->device_id == name);
    CHECK(c->tls.cert_file == std::string(PARTITA_SOURCE_DIR) + "/pki/devices/" + name + ".crt");
  }
}

TEST_CASE("Agent config errors are located") {
  testing::TempDir tmp;
  const std::string path = tmp.Write("a.yaml", R"(apiVersion: partita/v1
kind: AgentConfig
device_id: my speaker
profile: smart-speaker
pki_dir: pki
router: 127.0.0.1
app_socket: s.sock
runtime: {url: ftp://x}
state: {battery_pct: 120}
)");
  Result<AgentConfig> c = LoadAgentConfig(path);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() ==
        path + ":3:12: error: device_id 'my speaker' must be letters, digits, '.', '_' or '-'\n" +
            path + ":6:9: error: 'router' must be host:port, got '127.0.0.1'\n" + path +
            ":9:22: error: 'battery_pct' is 120; it must be between 0 and 100\n" + path +
            ":8:16: error: runtime url must start with http:// or https://");
}

}  // namespace
}  // namespace partita::agent
