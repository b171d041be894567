#include "common/vocabulary.h"

#include <doctest/doctest.h>

namespace partita {
namespace {

TEST_CASE("Every spelling parses back to its value, and nothing else parses") {
  for (std::size_t i = 0; i < kTierCount; ++i) {
    CHECK(ParseTier(kTierNames[i]) == static_cast<Tier>(i));
  }
  for (std::string_view near : {"", "devic", "devices", "Device", "clouds", "cloue", "phon",
                                "phonE", "xloud", "pcloud", "dcloud"}) {
    CHECK_MESSAGE(!ParseTier(near).has_value(), near);
  }
  for (std::size_t i = 0; i < kThermalNames.size(); ++i) {
    CHECK(ParseThermal(kThermalNames[i]) == static_cast<Thermal>(i));
  }
  CHECK(!ParseThermal("hot").has_value());
  for (std::size_t i = 0; i < kNetworkTypeNames.size(); ++i) {
    CHECK(ParseNetworkType(kNetworkTypeNames[i]) == static_cast<NetworkType>(i));
  }
  for (std::size_t i = 0; i < kPrivacyNames.size(); ++i) {
    CHECK(ParsePrivacy(kPrivacyNames[i]) == static_cast<Privacy>(i));
  }
  for (std::size_t i = 0; i < kRequestKindNames.size(); ++i) {
    CHECK(ParseRequestKind(kRequestKindNames[i]) == static_cast<RequestKind>(i));
  }
}

}  // namespace
}  // namespace partita
