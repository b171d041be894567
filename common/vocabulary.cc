#include "common/vocabulary.h"

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

std::optional<Tier> ParseTier(std::string_view s) { return Lookup<Tier>(kTierNames, s); }
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

}  // namespace partita
