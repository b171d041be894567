#include "edge_agent/config.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device_profiles/catalog_loader.h"
#include "edge_agent/policy_cache.h"
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
    if (std::string(name) == "phone") {
      CHECK(c->admission.from == std::vector<std::string>{"speaker", "car"});
    } else {
      CHECK(c->admission.from.empty());
    }
  }
}

TEST_CASE("admission.from lists device ids, each checked where it stands") {
  testing::TempDir tmp;
  const std::string head = R"(apiVersion: partita/v1
kind: AgentConfig
device_id: phone
profile: phone-mid
pki_dir: pki
router: 127.0.0.1:7443
app_socket: run/phone.sock
admission:
)";
  Result<AgentConfig> bad =
      LoadAgentConfig(tmp.Write("a.yaml", head + "  from: [speaker, \"kitchen speaker\"]\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("a.yaml:9:19: error: 'kitchen speaker' is not a device id") !=
        std::string::npos);
}

// The required keys of a speaker's config, for tests of the optional ones.
constexpr const char* kSpeakerHead = R"(apiVersion: partita/v1
kind: AgentConfig
device_id: speaker
profile: smart-speaker
pki_dir: pki
router: 127.0.0.1:7443
app_socket: run/speaker.sock
)";

TEST_CASE("The policy cache and drain timeout keys") {
  testing::TempDir tmp;
  const std::string head = kSpeakerHead;
  Result<AgentConfig> defaults = LoadAgentConfig(tmp.Write("a.yaml", head));
  REQUIRE_MESSAGE(defaults.ok(), defaults.status().ToString());
  // Beside the config file, not beside the socket (often in /tmp, shared and wiped at boot).
  CHECK(defaults->policy_cache == tmp.File("speaker.policy-cache.yaml"));
  CHECK(defaults->drain_timeout == std::chrono::milliseconds(10000));
  Result<AgentConfig> set = LoadAgentConfig(tmp.Write(
      "b.yaml",
      head + "policy_cache: state/policy.yaml\ndrain_timeout_ms: 2500\nwarm_minutes: 3\n"));
  REQUIRE_MESSAGE(set.ok(), set.status().ToString());
  CHECK(set->policy_cache == tmp.File("state/policy.yaml"));
  CHECK(set->drain_timeout == std::chrono::milliseconds(2500));
  CHECK(set->warm_minutes == std::chrono::minutes(3));
  CHECK(DefaultPolicyCachePath("/tmp/partita-phone.sock") ==
        "/tmp/partita-phone.policy-cache.yaml");
  CHECK(DefaultPolicyCachePath("/run/agent") == "/run/agent.policy-cache.yaml");
}

TEST_CASE("The scorer key: keywords by default, shipped, or a model file beside the config") {
  testing::TempDir tmp;
  const std::string head = kSpeakerHead;
  Result<AgentConfig> defaults = LoadAgentConfig(tmp.Write("a.yaml", head));
  REQUIRE_MESSAGE(defaults.ok(), defaults.status().ToString());
  CHECK(defaults->scorer == "keywords");
  Result<AgentConfig> shipped = LoadAgentConfig(tmp.Write("b.yaml", head + "scorer: shipped\n"));
  REQUIRE_MESSAGE(shipped.ok(), shipped.status().ToString());
  CHECK(shipped->scorer == "shipped");
  Result<AgentConfig> file =
      LoadAgentConfig(tmp.Write("c.yaml", head + "scorer: models/home.scorer\n"));
  REQUIRE_MESSAGE(file.ok(), file.status().ToString());
  CHECK(file->scorer == tmp.File("models/home.scorer"));
}

TEST_CASE("A policy cache someone else could have written is refused") {
  testing::TempDir tmp;
  const std::string path =
      tmp.Write("cache.yaml", testing::ReadSourceFile("policies/library/balanced.yaml"));
  PolicyCache cache(path);
  ::chmod(path.c_str(), 0666);
  Result<policy::PolicyPtr> shared = cache.Load(DefaultCatalog());
  REQUIRE_FALSE(shared.ok());
  CHECK(shared.status().message().find("writable by others") != std::string::npos);
  ::chmod(path.c_str(), 0600);
  Result<policy::PolicyPtr> own = cache.Load(DefaultCatalog());
  REQUIRE_MESSAGE(own.ok(), own.status().ToString());
  CHECK((*own)->name() == "balanced");
  const std::string link = tmp.File("link.yaml");
  REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
  CHECK(PolicyCache(link).Load(DefaultCatalog()).status().code() ==
        StatusCode::kFailedPrecondition);
  // What the agent writes is private to it.
  cache.Store("apiVersion: partita/v1\n");
  cache.Flush();
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("The example agent configs of the README load") {
  const std::string examples = std::string(PARTITA_SOURCE_DIR) + "/examples/";
  for (const char* name : {"speaker", "phone", "car"}) {
    CAPTURE(name);
    Result<AgentConfig> c = LoadAgentConfig(examples + name + ".yaml");
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    CHECK(c->device_id == name);
    REQUIRE(c->runtime);
    CHECK(c->tls.cert_file == std::string(PARTITA_SOURCE_DIR) + "/pki/devices/" + name + ".crt");
  }
  // The phone's runtime serves one model, and the phone offers just that one.
  Result<AgentConfig> phone = LoadAgentConfig(examples + "phone.yaml");
  REQUIRE(phone.ok());
  CHECK(phone->runtime->model == "milm-7b-moe");
  CHECK(phone->models == std::vector<std::string>{"milm-7b-moe"});
  CHECK(phone->peer_listen == "127.0.0.1:7501");
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

TEST_CASE("A runtime URL the client could not call is refused where it stands") {
  testing::TempDir tmp;
  const std::string path = tmp.Write("agent.yaml", R"(apiVersion: partita/v1
kind: AgentConfig
device_id: speaker
profile: smart-speaker
pki_dir: pki
router: 127.0.0.1:7443
app_socket: s.sock
runtime: {url: "http://127.0.0.1:11434/v1 extra"}
gateway: {url: "https://gw:8443/v1?key=1"}
)");
  Result<AgentConfig> c = LoadAgentConfig(path);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() ==
        path +
            ":8:16: error: runtime URL 'http://127.0.0.1:11434/v1 extra' must not contain spaces "
            "or line breaks\n" +
            path +
            ":9:16: error: gateway URL 'https://gw:8443/v1?key=1' must not have a query or "
            "fragment");
}

}  // namespace
}  // namespace partita::agent
