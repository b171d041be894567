#include "proto/convert.h"

#include <cctype>

namespace partita {

v1::Tier ToProto(Tier t) {
  switch (t) {
    case Tier::kDevice: return v1::TIER_DEVICE;
    case Tier::kPhone: return v1::TIER_PHONE;
    case Tier::kCloud: return v1::TIER_CLOUD;
  }
  return v1::TIER_UNSPECIFIED;
}

std::optional<Tier> FromProto(v1::Tier t) {
  switch (t) {
    case v1::TIER_DEVICE: return Tier::kDevice;
    case v1::TIER_PHONE: return Tier::kPhone;
    case v1::TIER_CLOUD: return Tier::kCloud;
    default: return std::nullopt;
  }
}

v1::Thermal ToProto(Thermal t) {
  switch (t) {
    case Thermal::kNominal: return v1::THERMAL_NOMINAL;
    case Thermal::kFair: return v1::THERMAL_FAIR;
    case Thermal::kSerious: return v1::THERMAL_SERIOUS;
    case Thermal::kCritical: return v1::THERMAL_CRITICAL;
  }
  return v1::THERMAL_UNSPECIFIED;
}

Thermal FromProto(v1::Thermal t) {
  switch (t) {
    case v1::THERMAL_FAIR: return Thermal::kFair;
    case v1::THERMAL_SERIOUS: return Thermal::kSerious;
    case v1::THERMAL_CRITICAL: return Thermal::kCritical;
    default: return Thermal::kNominal;
  }
}

v1::NetworkType ToProto(NetworkType t) {
  switch (t) {
    case NetworkType::kOffline: return v1::NETWORK_OFFLINE;
    case NetworkType::kWifi: return v1::NETWORK_WIFI;
    case NetworkType::kCellular: return v1::NETWORK_CELLULAR;
    case NetworkType::kEthernet: return v1::NETWORK_ETHERNET;
  }
  return v1::NETWORK_UNSPECIFIED;
}

NetworkType FromProto(v1::NetworkType t) {
  switch (t) {
    case v1::NETWORK_WIFI: return NetworkType::kWifi;
    case v1::NETWORK_CELLULAR: return NetworkType::kCellular;
    case v1::NETWORK_ETHERNET: return NetworkType::kEthernet;
    default: return NetworkType::kOffline;
  }
}

v1::Privacy ToProto(Privacy p) {
  switch (p) {
    case Privacy::kPublic: return v1::PRIVACY_PUBLIC;
    case Privacy::kNormal: return v1::PRIVACY_NORMAL;
    case Privacy::kPrivate: return v1::PRIVACY_PRIVATE;
  }
  return v1::PRIVACY_UNSPECIFIED;
}

Privacy FromProto(v1::Privacy p) {
  switch (p) {
    case v1::PRIVACY_PUBLIC: return Privacy::kPublic;
    case v1::PRIVACY_PRIVATE: return Privacy::kPrivate;
    default: return Privacy::kNormal;
  }
}

v1::RequestKind ToProto(RequestKind k) {
  switch (k) {
    case RequestKind::kCommand: return v1::KIND_COMMAND;
    case RequestKind::kChat: return v1::KIND_CHAT;
    case RequestKind::kReasoning: return v1::KIND_REASONING;
  }
  return v1::KIND_UNSPECIFIED;
}

std::optional<RequestKind> FromProto(v1::RequestKind k) {
  switch (k) {
    case v1::KIND_COMMAND: return RequestKind::kCommand;
    case v1::KIND_CHAT: return RequestKind::kChat;
    case v1::KIND_REASONING: return RequestKind::kReasoning;
    default: return std::nullopt;
  }
}

std::string AttemptResultName(v1::AttemptResult result) {
  std::string s = v1::AttemptResult_Name(result);
  if (s.rfind("ATTEMPT_", 0) == 0) s = s.substr(8);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace partita
