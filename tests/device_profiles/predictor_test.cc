#include "device_profiles/predictor.h"

#include <doctest/doctest.h>

#include "device_profiles/catalog_loader.h"

namespace partita {
namespace {

struct Fixture {
  CatalogPtr catalog = DefaultCatalog();
  const ModelSpec& small = catalog->model(*catalog->FindModel("milm-1.3b"));
  const ModelSpec& large = catalog->model(*catalog->FindModel("milm-70b-moe"));
  const DeviceClass& phone = catalog->device(*catalog->FindDevice("phone-mid"));
  const DeviceClass& speaker = catalog->device(*catalog->FindDevice("smart-speaker"));
};

TEST_CASE("On-device latency is prefill plus decode at the profile's rates, no network") {
  Fixture f;
  ExecutionSite site;
  site.tier = Tier::kDevice;
  site.model = &f.small;
  site.runtime = f.phone.RuntimeFor(*f.catalog->FindModel("milm-1.3b"));
  site.executor = &f.phone;
  site.asker = &f.phone;
  site.warm = true;
  RequestShape req{350, 28, 0.2};
  Prediction p = Predict(site, req);
  // 15 ms base + 350/350 s prefill + 28/28 s decode.
  CHECK(p.latency_ms == doctest::Approx(15 + 1000 + 1000));
  CHECK(p.ttft_ms == doctest::Approx(15 + 1000 + 1000.0 / 28));
  CHECK(p.energy_j == doctest::Approx((5.5 - 0.35) * 2.0));
  CHECK(p.cost_usd == doctest::Approx(378 * 0.001 / 1e6));

  site.executor_thermal = Thermal::kSerious;  // sustained factor 0.7
  Prediction hot = Predict(site, req);
  CHECK(hot.latency_ms == doctest::Approx(15 + 2000 / 0.7));
}

TEST_CASE("Cold loads count unless the model is resident or warm") {
  Fixture f;
  const ModelIndex moe = *f.catalog->FindModel("milm-7b-moe");
  ExecutionSite site;
  site.tier = Tier::kPhone;
  site.model = &f.catalog->model(moe);
  site.runtime = f.phone.RuntimeFor(moe);
  site.executor = &f.phone;
  site.asker = &f.speaker;
  site.rtt_ms = 5;
  RequestShape req{100, 50, 0.5};
  const double cold = Predict(site, req).latency_ms;
  site.warm = true;
  const double warm = Predict(site, req).latency_ms;
  CHECK(cold - warm == doctest::Approx(site.runtime->cold_load_ms));
}

TEST_CASE("Cloud latency adds the RTT and a queue that grows with load") {
  Fixture f;
  ExecutionSite site;
  site.tier = Tier::kCloud;
  site.model = &f.large;
  site.runtime = f.catalog->cloud().RuntimeFor(*f.catalog->FindModel("milm-70b-moe"));
  site.asker = &f.speaker;
  site.rtt_ms = 40;
  site.cloud_queue_reference_ms = f.catalog->cloud().queue_reference_ms;
  RequestShape req{500, 100, 0.9};
  const Prediction idle = Predict(site, req);
  site.cloud_load = 0.5;
  const Prediction half = Predict(site, req);
  site.cloud_load = 0.99;  // clamped at 0.95
  const Prediction full = Predict(site, req);
  CHECK(half.latency_ms - idle.latency_ms == doctest::Approx(250));
  CHECK(full.latency_ms - idle.latency_ms == doctest::Approx(250 * 0.95 / 0.05));
  CHECK(idle.energy_j == 0);  // a speaker on mains draws no battery while it waits
  CHECK(idle.quality > 0.7);
  site.asker = &f.phone;  // a phone on battery pays its radio while it waits
  site.cloud_load = 0;
  const Prediction from_phone = Predict(site, req);
  CHECK(from_phone.energy_j == doctest::Approx(1.0 * from_phone.latency_ms / 1000));
}

TEST_CASE("Quality falls with difficulty and rises with the model's score") {
  CHECK(QualityFor(0.4, 0.0) > 0.85);
  CHECK(QualityFor(0.4, 1.0) < 0.4);
  CHECK(QualityFor(0.8, 1.0) > 0.7);
  for (double d = 0; d <= 1.0; d += 0.1) {
    CHECK(QualityFor(0.8, d) > QualityFor(0.4, d));
    CHECK(QualityFor(0.6, d) >= QualityFor(0.6, d + 0.1));
  }
}

TEST_CASE("Thermal factors step from nominal to critical") {
  CHECK(ThermalSpeedFactor(Thermal::kNominal, 0.6) == 1.0);
  CHECK(ThermalSpeedFactor(Thermal::kFair, 0.6) == doctest::Approx(0.8));
  CHECK(ThermalSpeedFactor(Thermal::kSerious, 0.6) == doctest::Approx(0.6));
  CHECK(ThermalSpeedFactor(Thermal::kCritical, 0.6) == doctest::Approx(0.3));
}

}  // namespace
}  // namespace partita
