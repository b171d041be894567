#include "common/vocabulary.h"

#include <algorithm>
#include <cstring>

namespace partita {

namespace {
template <typename E, std::size_t N>
std::optional<E> Lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}
}  // namespace

// Called for every row a report reads: the length and first letter pick the one candidate, and
// a fixed-size compare (a few integer loads) confirms it.
std::optional<Tier> ParseTier(std::string_view s) {
  if (s.size() == 6 && s[0] == 'd' && std::memcmp(s.data(), "device", 6) == 0) {
    return Tier::kDevice;
  }
  if (s.size() != 5) return std::nullopt;
  if (s[0] == 'c' && std::memcmp(s.data(), "cloud", 5) == 0) return Tier::kCloud;
  if (s[0] == 'p' && std::memcmp(s.data(), "phone", 5) == 0) return Tier::kPhone;
  return std::nullopt;
}
std::optional<Thermal> ParseThermal(std::string_view s) {
  return Lookup<Thermal>(kThermalNames, s);
}
std::optional<NetworkType> ParseNetworkType(std::string_view s) {
  return Lookup<NetworkType>(kNetworkTypeNames, s);
}
std::optional<Privacy> ParsePrivacy(std::string_view s) {
  return Lookup<Privacy>(kPrivacyNames, s);
}
std::optional<RequestKind> ParseRequestKind(std::string_view s) {
  return Lookup<RequestKind>(kRequestKindNames, s);
}

std::uint32_t EstimateTokens(std::string_view text) {
  return static_cast<std::uint32_t>(std::max<std::size_t>(1, (text.size() + 3) / 4));
}

}  // namespace partita
