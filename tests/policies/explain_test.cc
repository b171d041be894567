#include "policies/explain.h"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "tests/policies/policy_testing.h"

namespace partita::policy {
namespace {

using fixtures::Load;
using fixtures::PolicyText;
using fixtures::State;

const std::string kPolicy = PolicyText(R"(  guards:
    - {name: private-home, when: {request.privacy: private}, never: [cloud]}
  defaults:
    fallback: [cloud, phone, device]
    models: {phone: milm-7b-moe, cloud: milm-70b-moe}
  objective: {latency_ms: 1}
  rules:
    - name: low-battery
      when: {device.battery_pct: {lt: 20}, device.charging: false}
      route: cloud
      fallback: [phone]
    - name: hard
      when: {request.difficulty: {gte: 0.7}}
      route: cloud
    - name: rest
      route: best
      require: {quality: {gte: 0.6}}
)");

TEST_CASE("Explain traces guards, skipped and matched rules, and candidates") {
  PolicyPtr p = Load(kPolicy);
  const DecisionState s =
      State("device: {battery_pct: 85}\nrequest: {privacy: private, difficulty: 0.9}");
  const DecisionInput in = s.Input();
  Explanation e = Explain(*p, in);
  REQUIRE(e.guards.size() == 1);
  CHECK(e.guards[0].applied);
  CHECK(e.guards[0].reason == "'request.privacy == private' is true (request.privacy is private)");
  REQUIRE(e.rules.size() == 3);
  CHECK(e.rules[0].status == RuleTrace::Status::kSkipped);
  CHECK(e.rules[0].reason == "'device.battery_pct < 20' is false (device.battery_pct is 85)");
  CHECK(e.rules[0].location.line == 13);
  CHECK(e.rules[0].location.column == 35);
  CHECK(e.rules[1].status == RuleTrace::Status::kMatched);
  CHECK(e.rules[2].status == RuleTrace::Status::kNotEvaluated);
  // hard -> cloud is guarded; the chain's phone is absent; the device answers.
  CHECK(e.result.ok);
  CHECK(e.result.route.tier == Tier::kDevice);
  REQUIRE(e.candidates.size() == 3);
  CHECK(e.candidates[0].status == "guard: private-home");
  CHECK(e.candidates[1].status == "unavailable: no phone is available (peer.phone_available)");
  CHECK(e.candidates[2].status == "chosen");

  const std::string text = ExplanationText(*p, in, e);
  CHECK(text.find("private-home          APPLIED, forbids cloud") != std::string::npos);
  CHECK(text.find("1. low-battery  skipped: 'device.battery_pct < 20' is false "
                  "(device.battery_pct is 85)  [test.yaml:13:35]") != std::string::npos);
  CHECK(text.find("2. hard         MATCHED") != std::string::npos);
  CHECK(text.find("decision: device / milm-1.3b  (rule hard)") != std::string::npos);
  for (const char* column :
       {"latency_ms", "ttft_ms", "cost_usd", "energy_j", "quality", "status"}) {
    CHECK_MESSAGE(text.find(column) != std::string::npos, column);
  }
}

TEST_CASE("Explain's JSON has the decision, the trace and every candidate's predictions") {
  PolicyPtr p = Load(kPolicy);
  const DecisionState s = State("peer: {phone_available: true}");
  const DecisionInput in = s.Input();
  Explanation e = Explain(*p, in);
  boost::json::value v = boost::json::parse(ExplanationJson(*p, in, e));
  const boost::json::object& o = v.as_object();
  CHECK(o.at("policy").at("name") == "test");
  CHECK(o.at("policy").at("version").as_string() == p->version().c_str());
  CHECK(o.at("ok") == true);
  CHECK(o.at("tier") == "cloud");
  CHECK(o.at("model") == "milm-70b-moe");
  CHECK(o.at("rule") == "rest");
  CHECK(o.at("deadline_ms").to_number<double>() == 5000);
  CHECK(o.at("guards").as_array().empty());
  const boost::json::array& fallback = o.at("fallback").as_array();
  REQUIRE(fallback.size() == 2);
  CHECK(fallback[0].at("tier") == "phone");
  CHECK(fallback[0].at("model") == "milm-7b-moe");
  CHECK(fallback[1].at("tier") == "device");
  const boost::json::array& predictions = o.at("predictions").as_array();
  REQUIRE(predictions.size() == e.result.candidate_count);
  bool chosen = false;
  for (const boost::json::value& c : predictions) {
    for (const char* key : {"tier", "model", "latency_ms", "ttft_ms", "cost_usd", "energy_j",
                            "quality", "score", "excluded", "status"}) {
      CHECK_MESSAGE(c.as_object().contains(key), key);
    }
    if (c.at("status") == "chosen") {
      chosen = true;
      CHECK(c.at("latency_ms").to_number<double>() ==
            doctest::Approx(e.result.prediction.latency_ms));
      CHECK(c.at("excluded").is_null());
    }
  }
  CHECK(chosen);
  CHECK(o.at("prediction").at("quality").to_number<double>() ==
        doctest::Approx(e.result.prediction.quality));
  const boost::json::array& rules = o.at("rules").as_array();
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].at("status") == "skipped");
  CHECK(rules[2].at("status") == "matched");
  CHECK(o.at("guard_trace").as_array()[0].at("applied") == false);
}

TEST_CASE("An undecided request explains itself in JSON with nulls") {
  PolicyPtr p = Load(PolicyText(R"(  rules:
    - {name: cloud-only, route: cloud, fallback: []}
)"));
  const DecisionState s = State("network: {type: offline}\ndevice: {id: \"quote\\\"me\"}");
  const DecisionInput in = s.Input();
  Explanation e = Explain(*p, in);
  boost::json::value v = boost::json::parse(ExplanationJson(*p, in, e));
  CHECK(v.at("ok") == false);
  CHECK(v.at("tier").is_null());
  CHECK(v.at("model").is_null());
  CHECK(v.at("prediction").is_null());
  CHECK(v.at("predictions").as_array()[0].at("excluded") == "unavailable");
  CHECK(ExplanationText(*p, in, e).find("decision: NONE") != std::string::npos);
}

}  // namespace
}  // namespace partita::policy
