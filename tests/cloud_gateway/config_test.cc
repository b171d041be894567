// gateway.yaml: the documented worked example loads; mistakes get located errors.
#include "cloud_gateway/config.h"

#include <doctest/doctest.h>

#include <cstdlib>

#include "tests/testing/temp_dir.h"

namespace partita::cloud_gateway {
namespace {

// The first ```yaml block of docs/gateway.md.
std::string WorkedExample() {
  const std::string doc = testing::ReadSourceFile("docs/gateway.md");
  const std::size_t start = doc.find("```yaml\n");
  REQUIRE(start != std::string::npos);
  const std::size_t end = doc.find("```", start + 8);
  return doc.substr(start + 8, end - start - 8);
}

GatewayConfigPtr Parse(const std::string& text, Diagnostics& d) {
  return ParseGatewayConfig(text, d, "/etc/partita", *DefaultCatalog());
}

TEST_CASE("the worked example in docs/gateway.md loads") {
  ::setenv("EXAMPLE_API_KEY", "sk-test", 1);
  Diagnostics d("gateway.yaml");
  GatewayConfigPtr c = Parse(WorkedExample(), d);
  REQUIRE_MESSAGE(c, d.ToString());
  REQUIRE(c->tls);
  CHECK(c->tls->listen == "0.0.0.0:8443");
  CHECK(c->tls->ca_file == "/etc/partita/pki/ca.crt");
  REQUIRE(c->plaintext);
  CHECK(c->plaintext->device == "bench");
  CHECK(c->ledger_path == "/etc/partita/gateway-ledger.db");
  CHECK(c->threads == 2);
  CHECK(c->eject_after_failures == 5);
  CHECK(c->eject_duration == std::chrono::seconds(30));
  CHECK(c->retry_budget_ratio == doctest::Approx(0.2));
  CHECK(c->retry_min_concurrent == 3);
  CHECK(c->budgets.device_usd_per_day == doctest::Approx(1.5));
  CHECK(c->budgets.devices.at("kitchen-speaker") == doctest::Approx(0.25));
  CHECK(c->revoked == std::vector<std::string>{"lost-phone-17"});
  CHECK(c->config_poll == std::chrono::seconds(1));
  REQUIRE(c->models.size() == 2);
  const ModelConfig& big = c->models[0];
  const ModelSpec& spec = DefaultCatalog()->model(*DefaultCatalog()->FindModel("milm-70b-moe"));
  CHECK(big.input_usd_per_1m_tokens == spec.price_usd_per_1m_input_tokens);
  REQUIRE(big.upstreams.size() == 3);
  CHECK(big.upstreams[0].model == "milm/milm-70b-moe-awq");
  CHECK(big.upstreams[2].name == "hosted-fallback");
  CHECK(big.upstreams[2].api_key == "sk-test");
  CHECK(c->models[1].output_usd_per_1m_tokens == doctest::Approx(2.4));
}

TEST_CASE("the README's example gateway config loads, with paths resolved against its directory") {
  const std::string root = PARTITA_SOURCE_DIR;
  Result<GatewayConfigPtr> c = LoadGatewayConfig(root + "/examples/gateway.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const GatewayConfig& g = **c;
  REQUIRE(g.tls);
  CHECK(g.tls->listen == "127.0.0.1:8443");  // where examples/router.yaml polls its health
  CHECK(g.tls->cert_file == root + "/pki/gateway.crt");
  CHECK(g.ledger_path == root + "/gateway-ledger.db");
  REQUIRE(g.models.size() == 2);
  CHECK(g.models[0].name == "milm-70b-moe");
  CHECK(g.models[0].upstreams[0].url == "http://127.0.0.1:8000/v1");
}

TEST_CASE("upstreams are ordered by priority") {
  Diagnostics d("g.yaml");
  auto c = Parse(R"(plaintext: {listen: 127.0.0.1:0}
ledger: l.db
models:
  - name: milm-7b-moe
    upstreams:
      - {name: late, url: "http://127.0.0.1:1/v1", priority: 2}
      - {name: early, url: "http://127.0.0.1:2/v1", priority: 0}
)",
                 d);
  REQUIRE_MESSAGE(c, d.ToString());
  CHECK(c->models[0].upstreams[0].name == "early");
}

TEST_CASE("mistakes are reported with their location, all at once") {
  Diagnostics d("g.yaml");
  auto c = Parse(R"(plaintext: {listen: 0.0.0.0:8080}
capacty: 10
ledger: l.db
models:
  - name: not-in-catalog
    upstreams:
      - {name: a, url: "ftp://x"}
      - {name: a, url: "http://127.0.0.1:1/v1"}
)",
                 d);
  CHECK_FALSE(c);
  const std::string all = d.ToString();
  CHECK(all.find("g.yaml:1:") != std::string::npos);
  CHECK(all.find("loopback") != std::string::npos);
  CHECK(all.find("g.yaml:2:1: error: unknown key 'capacty'") != std::string::npos);
  CHECK(all.find("did you mean 'capacity'") != std::string::npos);
  CHECK(all.find("needs a 'price' block") != std::string::npos);
  CHECK(all.find("must start with http://") != std::string::npos);
  CHECK(all.find("used twice") != std::string::npos);
}

TEST_CASE("revoked devices are a list of device ids, each checked where it stands") {
  const std::string base = R"(plaintext: {listen: 127.0.0.1:8080}
ledger: l.db
models:
  - {name: m, price: {input_usd_per_1m_tokens: 1, output_usd_per_1m_tokens: 2}, upstreams: [{name: a, url: "http://127.0.0.1:1/v1"}]}
)";
  Diagnostics good("g.yaml");
  GatewayConfigPtr c = Parse(base + "revoked: [car, speaker-2]\nconfig_poll_ms: 250\n", good);
  REQUIRE_MESSAGE(c, good.ToString());
  CHECK(c->revoked == std::vector<std::string>{"car", "speaker-2"});
  CHECK(c->config_poll == std::chrono::milliseconds(250));

  Diagnostics bad("g.yaml");
  CHECK_FALSE(Parse(base + "revoked: [car, \"not an id\"]\n", bad));
  CHECK(bad.ToString().find("g.yaml:5:16: error: 'not an id' is not a device id") !=
        std::string::npos);
  Diagnostics scalar("g.yaml");
  CHECK_FALSE(Parse(base + "revoked: car\n", scalar));
  CHECK(scalar.ToString().find("expected a list for 'revoked'") != std::string::npos);
}

TEST_CASE("a front, the ledger and models are required") {
  Diagnostics d("g.yaml");
  CHECK_FALSE(Parse("threads: 2\n", d));
  const std::string all = d.ToString();
  CHECK(all.find("'listen' + 'tls'") != std::string::npos);
  CHECK(all.find("ledger") != std::string::npos);
  CHECK(all.find("models") != std::string::npos);
}

TEST_CASE("a missing API key variable is an error naming it") {
  ::unsetenv("PARTITA_TEST_UNSET_KEY");
  Diagnostics d("g.yaml");
  CHECK_FALSE(Parse(R"(plaintext: {listen: 127.0.0.1:0}
ledger: l.db
models:
  - name: milm-7b-moe
    upstreams: [{name: a, url: "https://x/v1", api_key_env: PARTITA_TEST_UNSET_KEY}]
)",
                    d));
  CHECK(d.ToString().find("PARTITA_TEST_UNSET_KEY") != std::string::npos);
}

TEST_CASE("LoadGatewayConfig resolves paths against the file's directory") {
  testing::TempDir tmp;
  const std::string path = tmp.Write("gw.yaml", R"(plaintext: {listen: 127.0.0.1:0}
ledger: data/ledger.db
models:
  - name: milm-7b-moe
    upstreams: [{name: a, url: "http://127.0.0.1:1/v1"}]
)");
  auto c = LoadGatewayConfig(path);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK((*c)->ledger_path == tmp.path() + "/data/ledger.db");
  CHECK_FALSE(LoadGatewayConfig(tmp.File("missing.yaml")).ok());
}

}  // namespace
}  // namespace partita::cloud_gateway
