#include "router/config.h"

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace partita::router {
namespace {

TEST_CASE("The example router config loads, with paths resolved against its directory") {
  Result<RouterConfig> c =
      LoadRouterConfig(std::string(PARTITA_SOURCE_DIR) + "/examples/router.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->listen == "127.0.0.1:7443");
  CHECK(c->tls.cert_file == std::string(PARTITA_SOURCE_DIR) + "/pki/router.crt");
  CHECK(c->policy_file == std::string(PARTITA_SOURCE_DIR) + "/policies/library/balanced.yaml");
  CHECK(c->households.at("car") == "home");
  CHECK(c->heartbeat_interval == std::chrono::milliseconds(5000));
}

TEST_CASE("Router config errors are located") {
  testing::TempDir tmp;
  const std::string path = tmp.Write("r.yaml", R"(apiVersion: partita/v1
kind: RouterConfig
listen: localhost
pki_dir: pki
policy: p.yaml
decision_log: r.db
heartbeat_intervl_ms: 100
io_threads: 0
metrics_listen: 0.0.0.0:9464
)");
  Result<RouterConfig> c = LoadRouterConfig(path);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() ==
        path +
            ":7:1: error: unknown key 'heartbeat_intervl_ms' in the router config; did you "
            "mean 'heartbeat_interval_ms'?\n" +
            path +
            ":3:9: error: 'listen' must be IP:PORT (e.g. 127.0.0.1:7443), got 'localhost'\n" +
            path +
            ":9:17: error: 'metrics_listen' must be a loopback address (127.0.0.1 or ::1): it "
            "has no authentication; scrape it from the same host or through a proxy\n" +
            path + ":8:13: error: 'io_threads' is 0; it must be between 1 and 64");
}

TEST_CASE("Revoked ids must be device ids, each located") {
  testing::TempDir tmp;
  const std::string path = tmp.Write("r.yaml", R"(apiVersion: partita/v1
kind: RouterConfig
listen: 127.0.0.1:7443
pki_dir: pki
policy: p.yaml
decision_log: r.db
revoked: [lost-phone, "spiffe://partita/device/car"]
)");
  Result<RouterConfig> c = LoadRouterConfig(path);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == path +
                                    ":7:23: error: 'spiffe://partita/device/car' is not a device "
                                    "id ([A-Za-z0-9._-], 1 to 64)");
}

}  // namespace
}  // namespace partita::router
