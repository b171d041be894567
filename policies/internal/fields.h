// The fields a policy condition can read (`device.battery_pct`, `request.privacy`, ...): their
// names, types and domains, and how Decide() reads them from a DecisionInput.
//
// Internal to partita::policies. The table is constant; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "policies/decision.h"

namespace partita::policy::internal {

enum class FieldId : std::uint8_t {
  kDeviceId,
  kDeviceClass,
  kDeviceProfile,
  kDeviceBatteryPct,
  kDeviceCharging,
  kDeviceThermal,
  kDeviceFreeMemMb,
  kDeviceModels,
  kDeviceModelsWarm,
  kNetworkType,
  kNetworkRttMs,
  kNetworkMetered,
  kRequestTokensIn,
  kRequestTokensOut,
  kRequestDifficulty,
  kRequestPrivacy,
  kRequestKind,
  kRequestLatencyBudgetMs,
  kRequestMaxCostUsd,
  kFleetCloudHealthy,
  kFleetCloudLoad,
  kFleetBudgetLeftUsd,
  kPeerPhoneAvailable,
  kPeerPhoneBatteryPct,
  kPeerPhoneModels,
  kTimeHour,
};
inline constexpr std::size_t kFieldCount = static_cast<std::size_t>(FieldId::kTimeHour) + 1;

enum class ValueType : std::uint8_t {
  kNumber,
  kBool,
  kEnum,         // network.type, request.kind: equality and sets only
  kOrderedEnum,  // device.thermal, request.privacy: also lt/lte/gt/gte/between, in listed order
  kProfile,      // device.profile: a catalog device class name
  kClass,        // device.class: a catalog device class's `class`
  kString,       // device.id
  kModelSet,     // device.models, ...: `contains`
};

struct FieldInfo {
  std::string_view name;
  FieldId id;
  ValueType type;
  double lo = 0;  // kNumber: the values the field can take, for lint
  double hi = 0;
  std::span<const std::string_view> names = {};  // kEnum / kOrderedEnum / kBool spellings
  std::string_view help = {};                    // one line for docs and did-you-mean messages
};

std::span<const FieldInfo> AllFields();
const FieldInfo& Field(FieldId id);
const FieldInfo* FindField(std::string_view name);
std::span<const std::string_view> FieldNames();

// Bools and enums each own a few bits of one 64-bit word, one bit per value: the field's
// first bit, or -1 for other fields. A value v of field f sets bit OneHotOffset(f) + v.
int OneHotOffset(FieldId f);

// Every field's value for one input, gathered once per decision: numbers as doubles, small
// values (enums, bools, profiles) as a one-bit mask, model sets as their bits, and every bool
// and enum together in `onehot`.
struct FieldValues {
  double number[kFieldCount];
  std::uint64_t bits[kFieldCount];
  std::uint64_t onehot;
  std::string_view device_id;

  void Gather(const DecisionInput& in);
};

}  // namespace partita::policy::internal
