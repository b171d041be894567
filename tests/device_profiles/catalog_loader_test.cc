#include "device_profiles/catalog_loader.h"

#include <doctest/doctest.h>

#include <cmath>

#include "device_profiles/predictor.h"
#include "tests/testing/temp_dir.h"

namespace partita {
namespace {

TEST_CASE("The shipped catalog loads and has the required classes and models") {
  CatalogPtr c = DefaultCatalog();
  REQUIRE(c);
  for (const char* d : {"smart-speaker", "phone-mid", "phone-flagship", "car", "watch"}) {
    CHECK_MESSAGE(c->FindDevice(d).has_value(), d);
  }
  for (const char* m : {"milm-1.3b", "milm-7b-moe", "milm-70b-moe", "deepseek-v2", "gpt-4o-mini"}) {
    CHECK_MESSAGE(c->FindModel(m).has_value(), m);
  }
  const ModelSpec& small = c->model(*c->FindModel("milm-1.3b"));
  CHECK(small.mmlu_pct == 45.2);
  CHECK(small.gsm8k_pct == 34.1);
  CHECK(small.base_latency_ms == 15);
  CHECK(c->model(*c->FindModel("milm-70b-moe")).price_usd_per_1m_input_tokens == 0.01);
  const DeviceClass& speaker = c->device(*c->FindDevice("smart-speaker"));
  CHECK(speaker.OnMains());
  CHECK(speaker.RuntimeFor(*c->FindModel("milm-1.3b")) != nullptr);
  CHECK(c->cloud().RuntimeFor(*c->FindModel("milm-70b-moe")) != nullptr);
  CHECK(c->device(*c->FindDevice("watch")).runtimes.empty());
  CHECK(c->content_hash().size() == 64);
}

TEST_CASE("The shipped catalog file on disk is the one compiled in") {
  CHECK(testing::ReadSourceFile("device_profiles/catalog.yaml") == DefaultCatalogYaml());
  // And the worked example in docs/catalog.md loads.
  const std::string doc = testing::ReadSourceFile("docs/catalog.md");
  const std::size_t begin = doc.find("```yaml\n");
  REQUIRE(begin != std::string::npos);
  const std::size_t end = doc.find("```", begin + 8);
  Diagnostics d("docs/catalog.md");
  CHECK_MESSAGE(ParseCatalog(doc.substr(begin + 8, end - begin - 8), d), d.ToString());
}

constexpr const char* kMinimal = R"(apiVersion: partita/v1
kind: Catalog
models:
  - name: tiny
    params_total_b: 1
    params_active_b: 1
    quantization: int4
    memory_mb: 500
    mmlu_pct: 40
    gsm8k_pct: 30
    price_usd_per_1m_input_tokens: 0
    price_usd_per_1m_output_tokens: 0
    base_latency_ms: 10
    source: test
devices:
  - name: box
    class: other
    ram_mb: 1024
    battery_wh: 0
    idle_power_w: 1
    active_power_w: 2
    radio_power_w: 0.1
    source: test
    runtimes:
      - {model: tiny, prefill_tokens_per_s: 100, decode_tokens_per_s: 10, source: test}
cloud:
  queue_reference_ms: 100
  source: test
  runtimes: []
)";

std::string ErrorsFor(const std::string& text) {
  Diagnostics d("cat.yaml");
  CatalogPtr c = ParseCatalog(text, d);
  CHECK(c == nullptr);
  return d.ToString();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

TEST_CASE("A minimal catalog loads") {
  Diagnostics d("cat.yaml");
  CatalogPtr c = ParseCatalog(kMinimal, d);
  REQUIRE_MESSAGE(c, d.ToString());
  CHECK(c->devices().size() == 1);
}

TEST_CASE("A model's measured quality curve replaces the predicted one, and needs a source") {
  Diagnostics d("cat.yaml");
  CatalogPtr predicted = ParseCatalog(kMinimal, d);
  REQUIRE_MESSAGE(predicted, d.ToString());
  const ModelSpec& p = predicted->model(0);
  CHECK_FALSE(p.quality_curve);
  CHECK(p.QualityAt(0.3) == doctest::Approx(QualityFor(p.QualityScore(), 0.3)));

  const std::string measured_text = Replace(
      kMinimal, "    base_latency_ms: 10\n",
      "    base_latency_ms: 10\n    quality_curve: {intercept: 2, slope: -4, source: fit}\n");
  CatalogPtr measured = ParseCatalog(measured_text, d);
  REQUIRE_MESSAGE(measured, d.ToString());
  const ModelSpec& m = measured->model(0);
  REQUIRE(m.quality_curve);
  CHECK(m.quality_curve->source == "fit");
  CHECK(m.QualityAt(0.5) == doctest::Approx(0.5));  // 2 - 4 * 0.5 = 0
  CHECK(m.QualityAt(0.0) == doctest::Approx(1 / (1 + std::exp(-2.0))));
  CHECK(m.QualityAt(2.0) == doctest::Approx(m.QualityAt(1.0)));  // difficulty is clamped

  CHECK(
      ErrorsFor(Replace(kMinimal, "    base_latency_ms: 10\n",
                        "    base_latency_ms: 10\n    quality_curve: {intercept: 2, slope: -4}\n"))
          .find("model 'tiny': quality_curve has no 'source:'") != std::string::npos);
}

TEST_CASE("Malformed catalogs get located errors") {
  CHECK(ErrorsFor(Replace(kMinimal, "    ram_mb: 1024", "    ram_mbb: 1024")) ==
        "cat.yaml:18:5: error: unknown key 'ram_mbb' in a device class; did you mean 'ram_mb'?\n"
        "cat.yaml:16:5: error: missing required key 'ram_mb' in a device class\n");
  CHECK(ErrorsFor(Replace(kMinimal, "memory_mb: 500", "memory_mb: lots")) ==
        "cat.yaml:8:16: error: expected a number for 'memory_mb', got 'lots'\n");
  CHECK(ErrorsFor(Replace(kMinimal, "{model: tiny,", "{model: tiny2,")) ==
        "cat.yaml:25:17: error: unknown model 'tiny2' in device class 'box'; did you mean "
        "'tiny'?\n");
  CHECK(ErrorsFor(Replace(kMinimal, "    source: test\ndevices", "devices")) ==
        "cat.yaml:4:5: error: model 'tiny' has no 'source:' saying where its figures come from\n");
  CHECK(ErrorsFor(Replace(kMinimal, "mmlu_pct: 40", "mmlu_pct: 140")) ==
        "cat.yaml:9:15: error: 'mmlu_pct' is 140; it must be between 0 and 100\n");
  CHECK(ErrorsFor(Replace(kMinimal, "ram_mb: 1024", "ram_mb: 100")) ==
        "cat.yaml:25:9: error: model 'tiny' needs 500 MB but device class 'box' has 100 MB\n");
  CHECK(ErrorsFor(Replace(kMinimal, "kind: Catalog", "kind: Policy")) ==
        "cat.yaml:2:7: error: kind is 'Policy'; this file must have kind: Catalog\n");
  CHECK(ErrorsFor("models: [\n").find("cat.yaml:2:1: error: YAML syntax") == 0);
}

TEST_CASE("LoadCatalogFile names the file in every error") {
  testing::TempDir tmp;
  const std::string path =
      tmp.Write("bad.yaml", Replace(kMinimal, "idle_power_w: 1", "idle_power_w: -1"));
  Result<CatalogPtr> r = LoadCatalogFile(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        path + ":20:19: error: 'idle_power_w' is -1; it must be between 0 and 10000");
  CHECK(LoadCatalogFile(tmp.File("missing.yaml")).status().code() == StatusCode::kNotFound);
}

}  // namespace
}  // namespace partita
