#include "sim/fleet.h"

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace partita::sim {
namespace {

std::string ExampleFromDocs() {
  const std::string doc = testing::ReadSourceFile("docs/fleet.md");
  const std::size_t begin = doc.find("```yaml\n", doc.find("## Worked example"));
  REQUIRE(begin != std::string::npos);
  const std::size_t end = doc.find("```", begin + 8);
  return doc.substr(begin + 8, end - begin - 8);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

std::string ErrorsFor(const std::string& text) {
  Diagnostics d("fleet.yaml");
  CHECK(ParseFleet(text, d, *DefaultCatalog()) == nullptr);
  return d.ToString();
}

TEST_CASE("The shipped fleets load against the shipped catalog") {
  for (const char* f : {"sim/fleets/household-100.yaml", "sim/fleets/city-100k.yaml",
                        "sim/fleets/cloud-outage-1k.yaml"}) {
    Result<FleetPtr> fleet =
        LoadFleetFile(std::string(PARTITA_SOURCE_DIR) + "/" + f, *DefaultCatalog());
    REQUIRE_MESSAGE(fleet.ok(), fleet.status().ToString());
  }
  Result<FleetPtr> city = LoadFleetFile(
      std::string(PARTITA_SOURCE_DIR) + "/sim/fleets/city-100k.yaml", *DefaultCatalog());
  CHECK((*city)->TotalDevices() == 100000);
  Result<FleetPtr> small = LoadFleetFile(
      std::string(PARTITA_SOURCE_DIR) + "/sim/fleets/household-100.yaml", *DefaultCatalog());
  CHECK((*small)->TotalDevices() == 100);
  Result<FleetPtr> outage = LoadFleetFile(
      std::string(PARTITA_SOURCE_DIR) + "/sim/fleets/cloud-outage-1k.yaml", *DefaultCatalog());
  REQUIRE((*outage)->cloud.outages.size() == 2);
  CHECK((*outage)->cloud.outages[1].hang);
}

TEST_CASE("The worked example in docs/fleet.md loads with its values") {
  Diagnostics d("docs/fleet.md");
  FleetPtr fleet = ParseFleet(ExampleFromDocs(), d, *DefaultCatalog());
  REQUIRE_MESSAGE(fleet, d.ToString());
  CHECK(fleet->TotalDevices() == 4);
  CHECK(fleet->workload.private_share == 0.2);
  CHECK(fleet->cloud.capacity == 10);
  REQUIRE(fleet->charging.size() == 1);
  CHECK(fleet->charging[0].windows[0].start_hour == 23);
  const ClassWorkload* phone = fleet->WorkloadFor("phone");
  REQUIRE(phone != nullptr);
  double sum = 0;
  for (double w : phone->diurnal) sum += w;
  CHECK(sum == doctest::Approx(1.0));
}

TEST_CASE("Bad fleet files get located, named errors") {
  const std::string ok = ExampleFromDocs();
  CHECK(ErrorsFor(Replace(ok, "    capacity: 10", "    capacty: 10")) ==
        "fleet.yaml:34:5: error: unknown key 'capacty' in cloud; did you mean 'capacity'?\n");
  CHECK(ErrorsFor(Replace(ok, "share: 0.4", "share: 0.3")) ==
        "fleet.yaml:13:7: error: request kind shares sum to 0.9, not 1\n");
  CHECK(ErrorsFor(Replace(ok, "[phone-mid, smart-speaker]", "[phone-mdi, smart-speaker]")) ==
        "fleet.yaml:7:40: error: unknown device profile 'phone-mdi'; did you mean 'phone-mid'?\n");
  CHECK(ErrorsFor(Replace(ok, "count: 2", "count: -2")) ==
        "fleet.yaml:7:27: error: household count must be between 0 and 100000000\n");
  CHECK(ErrorsFor(Replace(ok, "wifi: 0.7, cellular: 0.3", "wifi: 0.7, cellular: 0.2")) ==
        "fleet.yaml:26:9: error: network shares of class 'phone' sum to 0.9, not 1\n");
  CHECK(ErrorsFor(Replace(ok, "{class: speaker, requests_per_day: 20}",
                          "{class: speakr, requests_per_day: 20}")) ==
        "fleet.yaml:11:17: error: unknown device class 'speakr' in workload classes; the "
        "catalog has speaker, phone, car or watch; did you mean 'speaker'?\n");
  CHECK(ErrorsFor(Replace(ok, "      - {class: speaker, requests_per_day: 20}\n", "")) ==
        "fleet.yaml:7:7: error: household 'home' has a speaker but workload.classes has no "
        "entry for class 'speaker'\n");
  CHECK(ErrorsFor(Replace(ok, "requests_per_day: 40", "requests_per_day: -1")) ==
        "fleet.yaml:10:42: error: 'requests_per_day' is -1; it must be between 0 and 1000000\n");
  CHECK(ErrorsFor("kind: Fleet\n").find("fleet.yaml:1:1: error: missing required key") == 0);
}

TEST_CASE("ScaleFleet scales household counts") {
  Diagnostics d("docs/fleet.md");
  FleetPtr fleet = ParseFleet(ExampleFromDocs(), d, *DefaultCatalog());
  REQUIRE(fleet);
  CHECK(ScaleFleet(*fleet, 400).TotalDevices() == 400);
  CHECK(ScaleFleet(*fleet, 1).TotalDevices() == 2);  // at least one household of each template
}

}  // namespace
}  // namespace partita::sim
