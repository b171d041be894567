#include "policies/internal/fields.h"

#include <array>
#include <limits>

namespace partita::policy::internal {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::array<std::string_view, 2> kBoolNames = {"false", "true"};

const std::array<FieldInfo, kFieldCount> kFields = {{
    {"device.id", FieldId::kDeviceId, ValueType::kString, 0, 0, {}, "the device's identity"},
    {"device.class",
     FieldId::kDeviceClass,
     ValueType::kClass,
     0,
     0,
     {},
     "the catalog class of the device (speaker, phone, car, watch)"},
    {"device.profile",
     FieldId::kDeviceProfile,
     ValueType::kProfile,
     0,
     0,
     {},
     "the catalog device class name (phone-mid)"},
    {"device.battery_pct",
     FieldId::kDeviceBatteryPct,
     ValueType::kNumber,
     0,
     100,
     {},
     "battery charge, 0..100"},
    {"device.charging", FieldId::kDeviceCharging, ValueType::kBool, 0, 0, kBoolNames,
     "on mains or charging"},
    {"device.thermal", FieldId::kDeviceThermal, ValueType::kOrderedEnum, 0, 0, kThermalNames,
     "thermal state"},
    {"device.free_mem_mb",
     FieldId::kDeviceFreeMemMb,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "free memory, MiB (0 = unknown)"},
    {"device.models",
     FieldId::kDeviceModels,
     ValueType::kModelSet,
     0,
     0,
     {},
     "models installed on the device"},
    {"device.models_warm",
     FieldId::kDeviceModelsWarm,
     ValueType::kModelSet,
     0,
     0,
     {},
     "models loaded in memory now"},
    {"network.type", FieldId::kNetworkType, ValueType::kEnum, 0, 0, kNetworkTypeNames,
     "network type"},
    {"network.rtt_ms",
     FieldId::kNetworkRttMs,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "round trip to the cloud, ms"},
    {"network.metered", FieldId::kNetworkMetered, ValueType::kBool, 0, 0, kBoolNames,
     "metered connection"},
    {"request.tokens_in",
     FieldId::kRequestTokensIn,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "prompt tokens"},
    {"request.tokens_out",
     FieldId::kRequestTokensOut,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "expected answer tokens"},
    {"request.difficulty",
     FieldId::kRequestDifficulty,
     ValueType::kNumber,
     0,
     1,
     {},
     "estimated difficulty, 0..1"},
    {"request.privacy", FieldId::kRequestPrivacy, ValueType::kOrderedEnum, 0, 0, kPrivacyNames,
     "privacy class"},
    {"request.kind", FieldId::kRequestKind, ValueType::kEnum, 0, 0, kRequestKindNames,
     "request kind"},
    {"request.latency_budget_ms",
     FieldId::kRequestLatencyBudgetMs,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "the app's latency budget, ms (0 = none)"},
    {"request.max_cost_usd",
     FieldId::kRequestMaxCostUsd,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "the app's cost limit, USD (0 = none)"},
    {"fleet.cloud_healthy", FieldId::kFleetCloudHealthy, ValueType::kBool, 0, 0, kBoolNames,
     "the cloud gateway is up"},
    {"fleet.cloud_load",
     FieldId::kFleetCloudLoad,
     ValueType::kNumber,
     0,
     1,
     {},
     "cloud load, 0..1"},
    {"fleet.budget_left_usd",
     FieldId::kFleetBudgetLeftUsd,
     ValueType::kNumber,
     0,
     kInf,
     {},
     "cloud budget left, USD"},
    {"peer.phone_available", FieldId::kPeerPhoneAvailable, ValueType::kBool, 0, 0, kBoolNames,
     "a household phone admits offloads"},
    {"peer.phone_battery_pct",
     FieldId::kPeerPhoneBatteryPct,
     ValueType::kNumber,
     0,
     100,
     {},
     "that phone's battery, 0..100"},
    {"peer.phone_models",
     FieldId::kPeerPhoneModels,
     ValueType::kModelSet,
     0,
     0,
     {},
     "models installed on that phone"},
    {"time.hour", FieldId::kTimeHour, ValueType::kNumber, 0, 23, {}, "local hour, 0..23"},
}};

const std::array<std::string_view, kFieldCount> kNames = [] {
  std::array<std::string_view, kFieldCount> names{};
  for (std::size_t i = 0; i < kFieldCount; ++i) names[i] = kFields[i].name;
  return names;
}();

constexpr std::uint64_t Bit(std::size_t i) { return i < 64 ? std::uint64_t{1} << i : 0; }
constexpr std::uint64_t Bit(bool b) { return b ? 2 : 1; }
template <typename E>
constexpr std::uint64_t EnumBit(E e) {
  return Bit(static_cast<std::size_t>(e));
}

constexpr bool OneHot(ValueType t) {
  return t == ValueType::kBool || t == ValueType::kEnum || t == ValueType::kOrderedEnum;
}

const std::array<int, kFieldCount> kOneHotOffsets = [] {
  std::array<int, kFieldCount> offsets{};
  int next = 0;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    offsets[i] = -1;
    if (OneHot(kFields[i].type)) {
      offsets[i] = next;
      next += static_cast<int>(kFields[i].names.size());
    }
  }
  return offsets;
}();

}  // namespace

int OneHotOffset(FieldId f) { return kOneHotOffsets[static_cast<std::size_t>(f)]; }

std::span<const FieldInfo> AllFields() { return kFields; }
const FieldInfo& Field(FieldId id) { return kFields[static_cast<std::size_t>(id)]; }
std::span<const std::string_view> FieldNames() { return kNames; }

const FieldInfo* FindField(std::string_view name) {
  for (const FieldInfo& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void FieldValues::Gather(const DecisionInput& in) {
  auto set = [this](FieldId f, double n, std::uint64_t b) {
    number[static_cast<std::size_t>(f)] = n;
    bits[static_cast<std::size_t>(f)] = b;
  };
  device_id = in.device.id;
  set(FieldId::kDeviceId, 0, 0);
  set(FieldId::kDeviceClass, in.device.profile, Bit(std::size_t{in.device.profile}));
  set(FieldId::kDeviceProfile, in.device.profile, Bit(std::size_t{in.device.profile}));
  set(FieldId::kDeviceBatteryPct, in.device.battery_pct, 0);
  set(FieldId::kDeviceCharging, in.device.charging, Bit(in.device.charging));
  set(FieldId::kDeviceThermal, static_cast<double>(in.device.thermal), EnumBit(in.device.thermal));
  set(FieldId::kDeviceFreeMemMb, in.device.free_mem_mb, 0);
  set(FieldId::kDeviceModels, 0, in.device.models.bits());
  set(FieldId::kDeviceModelsWarm, 0, in.device.models_warm.bits());
  set(FieldId::kNetworkType, static_cast<double>(in.network.type), EnumBit(in.network.type));
  set(FieldId::kNetworkRttMs, in.network.rtt_ms, 0);
  set(FieldId::kNetworkMetered, in.network.metered, Bit(in.network.metered));
  set(FieldId::kRequestTokensIn, in.request.tokens_in, 0);
  set(FieldId::kRequestTokensOut, in.request.tokens_out, 0);
  set(FieldId::kRequestDifficulty, in.request.difficulty, 0);
  set(FieldId::kRequestPrivacy, static_cast<double>(in.request.privacy),
      EnumBit(in.request.privacy));
  set(FieldId::kRequestKind, static_cast<double>(in.request.kind), EnumBit(in.request.kind));
  set(FieldId::kRequestLatencyBudgetMs, in.request.latency_budget_ms, 0);
  set(FieldId::kRequestMaxCostUsd, in.request.max_cost_usd, 0);
  set(FieldId::kFleetCloudHealthy, in.fleet.cloud_healthy, Bit(in.fleet.cloud_healthy));
  set(FieldId::kFleetCloudLoad, in.fleet.cloud_load, 0);
  set(FieldId::kFleetBudgetLeftUsd, in.fleet.budget_left_usd, 0);
  set(FieldId::kPeerPhoneAvailable, in.peer.phone_available, Bit(in.peer.phone_available));
  set(FieldId::kPeerPhoneBatteryPct, in.peer.phone_battery_pct, 0);
  set(FieldId::kPeerPhoneModels, 0, in.peer.phone_models.bits());
  set(FieldId::kTimeHour, in.time.hour, 0);
  onehot = 0;
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    if (kOneHotOffsets[f] >= 0) onehot |= bits[f] << kOneHotOffsets[f];
  }
}

}  // namespace partita::policy::internal
