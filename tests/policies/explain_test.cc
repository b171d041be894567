#include "policies/explain.h"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <cmath>

#include "device_profiles/catalog_loader.h"
#include "policies/availability.h"
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

TEST_CASE("Explain shows every tier, marking those outside the rule's route and fallback") {
  PolicyPtr p = Load(kPolicy);
  const DecisionState s = State("device: {battery_pct: 10, charging: false}");
  const DecisionInput in = s.Input();
  Explanation e = Explain(*p, in);
  CHECK(p->rule_name(e.result.rule_index) == "low-battery");
  // low-battery routes to the cloud and falls back to the phone only: Decide() never looks at
  // the device, but explain still shows what it would predict there.
  REQUIRE(e.candidates.size() == 3);
  CHECK(e.candidates[0].candidate.route.tier == Tier::kCloud);
  CHECK(e.candidates[0].status == "chosen");
  CHECK(e.candidates[1].candidate.route.tier == Tier::kPhone);
  CHECK_FALSE(e.candidates[1].has_route);
  const CandidateTrace& device = e.candidates[2];
  CHECK(device.candidate.route.tier == Tier::kDevice);
  CHECK(device.has_route);
  CHECK(device.outside_rule);
  CHECK(device.candidate.route.model == fixtures::Model("milm-1.3b"));
  CHECK(device.candidate.prediction.latency_ms > 0);
  CHECK(device.candidate.prediction.quality > 0);
  CHECK(device.candidate.prediction.latency_ms ==
        doctest::Approx(PredictRoute(*p, in, device.candidate.route).latency_ms));
  CHECK(device.status == "not in rule low-battery's route or fallback");

  const std::string text = ExplanationText(*p, in, e);
  CHECK(text.find("not in rule low-battery's route or fallback") != std::string::npos);
  boost::json::value v = boost::json::parse(ExplanationJson(*p, in, e));
  const boost::json::array& predictions = v.at("predictions").as_array();
  REQUIRE(predictions.size() == 3);
  CHECK(predictions[2].at("tier") == "device");
  CHECK(predictions[2].at("model") == "milm-1.3b");
  CHECK(predictions[2].at("excluded") == "not in rule");
  CHECK(predictions[2].at("latency_ms").to_number<double>() > 0);
  CHECK(predictions[1].at("tier") == "phone");
  CHECK(predictions[1].at("model").is_null());
  CHECK(predictions[1].at("latency_ms").is_null());
}

TEST_CASE("Without a phone the phone row names no model and predicts nothing") {
  // No defaults.models: Decide() records the chain's phone entry on the catalog's best model,
  // which may be one only the cloud serves.
  PolicyPtr p = Load(PolicyText(R"(  rules:
    - {name: cloud-first, route: cloud, fallback: [phone, device]}
)"));
  const DecisionState s = State("{}");
  const DecisionInput in = s.Input();
  Explanation e = Explain(*p, in);
  REQUIRE(e.candidates.size() == 3);
  const CandidateTrace& phone = e.candidates[1];
  CHECK(phone.candidate.route.tier == Tier::kPhone);
  CHECK_FALSE(phone.has_route);
  CHECK(phone.status == "unavailable: no phone is available (peer.phone_available)");
  const std::string text = ExplanationText(*p, in, e);
  const std::size_t row = text.find("\n  phone ", text.find("predictions:"));
  REQUIRE(row != std::string::npos);
  const std::string line = text.substr(row + 1, text.find('\n', row + 1) - row - 1);
  CHECK(line.find("  phone   -   ") == 0);
  CHECK(line.find("gpt") == std::string::npos);
  CHECK(line.find("0.") == std::string::npos);

  // With a phone, the row has its model and predictions.
  const DecisionState with_phone =
      State("peer: {phone_available: true}\nfleet: {cloud_healthy: false}");
  const DecisionInput in2 = with_phone.Input();
  Explanation e2 = Explain(*p, in2);
  bool phone_row = false;
  for (const CandidateTrace& t : e2.candidates) {
    if (t.candidate.route.tier != Tier::kPhone) continue;
    phone_row = true;
    CHECK(t.has_route);
    CHECK(t.status == "chosen");
    CHECK(t.candidate.prediction.latency_ms > 0);
  }
  CHECK(phone_row);
}

TEST_CASE("Explain reports the policy's lint errors above the explanation") {
  PolicyPtr p = Load(PolicyText(R"(  guards:
    - {name: no-cloud, never: [cloud]}
  rules:
    - {name: c, route: cloud, fallback: [device]}
)"));
  const DecisionState s = State("{}");
  const DecisionInput in = s.Input();
  Explanation e = Explain(*p, in);
  REQUIRE(e.lint_errors.size() == 1);
  CHECK(e.lint_errors[0] ==
        "test.yaml:8:24: error: rule 'c' routes to cloud, but guard 'no-cloud' forbids cloud for "
        "every request this rule matches");
  const std::string text = ExplanationText(*p, in, e);
  CHECK(text.starts_with(e.lint_errors[0] + "\nthe router would refuse this policy"));
  CHECK(text.find("decision: device") != std::string::npos);
  boost::json::value v = boost::json::parse(ExplanationJson(*p, in, e));
  REQUIRE(v.at("lint_errors").as_array().size() == 1);
  CHECK(v.at("lint_errors").as_array()[0] == e.lint_errors[0].c_str());

  // A clean policy has none.
  PolicyPtr clean = Load(kPolicy);
  Explanation ce = Explain(*clean, in);
  CHECK(ce.lint_errors.empty());
  CHECK(ExplanationText(*clean, in, ce).starts_with("policy test"));
  CHECK(boost::json::parse(ExplanationJson(*clean, in, ce)).at("lint_errors").as_array().empty());
}

TEST_CASE("Explain says which models' quality is measured and which predicted") {
  const DecisionState s = State("request: {difficulty: 0.5}");
  const DecisionInput in = s.Input();
  PolicyPtr predicted = Load(kPolicy);
  CHECK(ExplanationText(*predicted, in, Explain(*predicted, in))
            .find("quality: predicted from each model's benchmark scores (no measured curve)") !=
        std::string::npos);

  // The shipped catalog with a measured curve on milm-70b-moe.
  std::string yaml(DefaultCatalogYaml());
  const std::string anchor = "  - name: milm-70b-moe\n";
  const std::size_t at = yaml.find(anchor);
  REQUIRE(at != std::string::npos);
  yaml.insert(at + anchor.size(),
              "    quality_curve: {intercept: 3, slope: -2, source: a test's labels}\n");
  Diagnostics cd("catalog.yaml");
  CatalogPtr catalog = ParseCatalog(yaml, cd);
  REQUIRE_MESSAGE(catalog, cd.ToString());
  Diagnostics pd("test.yaml");
  PolicyPtr measured = ParsePolicy(kPolicy, pd, catalog);
  REQUIRE_MESSAGE(measured, pd.ToString());
  const Explanation e = Explain(*measured, in);
  bool cloud_quality_measured = false;
  for (const CandidateTrace& t : e.candidates) {
    if (t.has_route && catalog->model(t.candidate.route.model).name == "milm-70b-moe") {
      cloud_quality_measured =
          t.candidate.prediction.quality == doctest::Approx(1 / (1 + std::exp(-(3.0 - 2 * 0.5))));
    }
  }
  CHECK(cloud_quality_measured);
  CHECK(ExplanationText(*measured, in, e)
            .find("quality: measured for milm-70b-moe (the catalog's quality_curve); predicted "
                  "for the others") != std::string::npos);
}

}  // namespace
}  // namespace partita::policy
