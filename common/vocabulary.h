// The domain vocabulary shared by every component: tiers, thermal states, network types,
// privacy classes and request kinds, with their spelling in YAML files and reports.
// The wire schema has matching enums (proto/convert.h maps between them).
// Plain enums and pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace partita {

enum class Tier : std::uint8_t { kDevice = 0, kPhone = 1, kCloud = 2 };
inline constexpr std::size_t kTierCount = 3;
inline constexpr std::array<std::string_view, kTierCount> kTierNames = {"device", "phone", "cloud"};

enum class Thermal : std::uint8_t { kNominal = 0, kFair = 1, kSerious = 2, kCritical = 3 };
inline constexpr std::array<std::string_view, 4> kThermalNames = {"nominal", "fair", "serious",
                                                                  "critical"};

enum class NetworkType : std::uint8_t { kOffline = 0, kWifi = 1, kCellular = 2, kEthernet = 3 };
inline constexpr std::array<std::string_view, 4> kNetworkTypeNames = {"offline", "wifi", "cellular",
                                                                      "ethernet"};

enum class Privacy : std::uint8_t { kPublic = 0, kNormal = 1, kPrivate = 2 };
inline constexpr std::array<std::string_view, 3> kPrivacyNames = {"public", "normal", "private"};

enum class RequestKind : std::uint8_t { kCommand = 0, kChat = 1, kReasoning = 2 };
inline constexpr std::array<std::string_view, 3> kRequestKindNames = {"command", "chat",
                                                                      "reasoning"};

constexpr std::string_view Name(Tier t) { return kTierNames[static_cast<std::size_t>(t)]; }
constexpr std::string_view Name(Thermal t) { return kThermalNames[static_cast<std::size_t>(t)]; }
constexpr std::string_view Name(NetworkType t) {
  return kNetworkTypeNames[static_cast<std::size_t>(t)];
}
constexpr std::string_view Name(Privacy p) { return kPrivacyNames[static_cast<std::size_t>(p)]; }
constexpr std::string_view Name(RequestKind k) {
  return kRequestKindNames[static_cast<std::size_t>(k)];
}

// Parse the YAML spelling; nullopt for anything else.
std::optional<Tier> ParseTier(std::string_view s);
std::optional<Thermal> ParseThermal(std::string_view s);
std::optional<NetworkType> ParseNetworkType(std::string_view s);
std::optional<Privacy> ParsePrivacy(std::string_view s);
std::optional<RequestKind> ParseRequestKind(std::string_view s);

// A request's prompt tokens from its text: about one token per 4 bytes of UTF-8 (BPE tokenizers
// on English prose), at least 1. The agent and the simulator both count this way.
std::uint32_t EstimateTokens(std::string_view text);

}  // namespace partita
