#include "policies/policy_store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/policies/policy_testing.h"
#include "tests/testing/temp_dir.h"

namespace partita::policy {
namespace {

using fixtures::PolicyText;
using fixtures::State;

const std::string kToDevice = PolicyText("  rules:\n    - {name: to-device, route: device}\n");
const std::string kToCloud = PolicyText("  rules:\n    - {name: to-cloud, route: cloud}\n");

TEST_CASE("A good load serves the new policy") {
  PolicyStore store;
  CHECK(store.Current() == nullptr);
  Diagnostics d("p.yaml");
  PolicyPtr p = store.Load(kToDevice, d);
  REQUIRE(p != nullptr);
  CHECK(store.Current() == p);
  CHECK(store.swaps() == 1);
  CHECK(p->rule_name(0) == "to-device");
}

TEST_CASE("A load that fails validation keeps the serving policy and returns located errors") {
  PolicyStore store;
  Diagnostics first("p.yaml");
  PolicyPtr serving = store.Load(kToDevice, first);
  REQUIRE(serving);

  Diagnostics syntax("p.yaml");
  CHECK(store.Load("spec: [\n", syntax) == nullptr);
  CHECK(syntax.ToString().starts_with("p.yaml:2:1: error: YAML syntax"));
  CHECK(store.Current() == serving);

  // Loads, but lint finds an error (an unreachable rule): refused as well.
  Diagnostics lint("p.yaml");
  CHECK(store.Load(PolicyText("  rules:\n    - {name: a, route: device}\n"
                              "    - {name: b, when: {time.hour: 1}, route: cloud}\n"),
                   lint) == nullptr);
  CHECK(lint.ToString().find("p.yaml:7:7: error: rule 'b' can never match") == 0);
  CHECK(store.Current() == serving);
  CHECK(store.swaps() == 1);

  // Warnings do not block.
  Diagnostics warn("p.yaml");
  PolicyPtr warned = store.Load(
      PolicyText("  rules:\n    - {name: a, when: {time.hour: {gte: 0}}, route: device}\n"), warn);
  CHECK(warned != nullptr);
  CHECK(warn.warning_count() == 1);
  CHECK(store.Current() == warned);
}

TEST_CASE("LoadFile reports the file's located errors and keeps the policy") {
  testing::TempDir dir;
  PolicyStore store;
  REQUIRE(store.LoadFile(dir.Write("good.yaml", kToDevice)).ok());
  const PolicyPtr serving = store.Current();
  const std::string bad = dir.Write("bad.yaml", PolicyText("  rulez: []\n"));
  Result<PolicyPtr> r = store.LoadFile(bad);
  REQUIRE(!r.ok());
  CHECK(r.status().message() ==
        bad + ":5:3: error: unknown key 'rulez' in spec; did you mean 'rules'?");
  CHECK(!store.LoadFile(dir.File("missing.yaml")).ok());
  CHECK(store.Current() == serving);
}

TEST_CASE("A decision in flight keeps the policy it started with") {
  PolicyStore store;
  Diagnostics d("p.yaml");
  REQUIRE(store.Load(kToDevice, d));
  const PolicyPtr in_flight = store.Current();
  Diagnostics d2("p.yaml");
  REQUIRE(store.Load(kToCloud, d2));
  CHECK(store.Current() != in_flight);
  // The old policy is still alive and still decides by its own rules.
  const DecisionState s = State("{}");
  const DecisionInput in = s.Input();
  DecisionResult r;
  Decide(*in_flight, in, r);
  CHECK(r.route.tier == Tier::kDevice);
  Decide(*store.Current(), in, r);
  CHECK(r.route.tier == Tier::kCloud);
}

TEST_CASE("Readers racing a reloader always see one whole policy") {
  PolicyStore store;
  Diagnostics d("p.yaml");
  const PolicyPtr device = store.Load(kToDevice, d);
  Diagnostics d2("p.yaml");
  const PolicyPtr cloud = ParsePolicy(kToCloud, d2);
  REQUIRE(device);
  REQUIRE(cloud);
  const DecisionState s = State("{}");
  std::atomic<int> mismatches{0};
  std::atomic<int> decisions{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      const DecisionInput in = s.Input();
      DecisionResult r;
      for (int i = 0; i < 3000; ++i) {
        const PolicyPtr p = store.Current();
        Decide(*p, in, r);
        const bool consistent = p->rule_name(r.rule_index) == "to-device"
                                    ? r.route.tier == Tier::kDevice
                                    : r.route.tier == Tier::kCloud;
        if (!consistent) ++mismatches;
        ++decisions;
      }
    });
  }
  for (int i = 0; i < 2000; ++i) store.Set(i % 2 ? device : cloud);
  for (std::thread& t : readers) t.join();
  CHECK(mismatches == 0);
  CHECK(decisions == 9000);
  CHECK(store.swaps() == 2001);
}

}  // namespace
}  // namespace partita::policy
