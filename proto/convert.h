// Conversions between the wire enums (partita.v1) and the domain vocabulary (common/).
// Unspecified wire values map to the documented defaults (nominal, offline, normal, chat).
// Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>

#include "common/vocabulary.h"
#include "proto/partita.pb.h"

namespace partita {

v1::Tier ToProto(Tier t);
std::optional<Tier> FromProto(v1::Tier t);  // nullopt for TIER_UNSPECIFIED

v1::Thermal ToProto(Thermal t);
Thermal FromProto(v1::Thermal t);

v1::NetworkType ToProto(NetworkType t);
NetworkType FromProto(v1::NetworkType t);

v1::Privacy ToProto(Privacy p);
Privacy FromProto(v1::Privacy p);

v1::RequestKind ToProto(RequestKind k);
std::optional<RequestKind> FromProto(v1::RequestKind k);  // nullopt for KIND_UNSPECIFIED

// ATTEMPT_NO_FIRST_TOKEN -> "no_first_token": the spelling logs, trails and reports use.
std::string AttemptResultName(v1::AttemptResult result);

}  // namespace partita
