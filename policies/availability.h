// Whether a tier can run a model for one request right now, why not, and what it would cost.
//
// The rules (docs/policies.md, "Availability"): the device tier needs a catalog runtime for the
// model on device.profile, the model in device.models, and, when device.free_mem_mb is known
// (> 0), room to load it unless it is warm or resident. The phone tier needs a network that is
// not offline, peer.phone_available, a phone profile that accepts offloads and runs the model,
// and the model in peer.phone_models. The cloud tier needs a network that is not offline,
// fleet.cloud_healthy and a cloud runtime for the model. Decide() applies exactly this check.
// Pure functions, no allocation; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "policies/decision.h"

namespace partita::policy {

enum class Availability : std::uint8_t {
  kAvailable = 0,
  kOffline,              // network.type is offline: only the device tier can run
  kCloudUnhealthy,       // fleet.cloud_healthy is false
  kNotServedByCloud,     // the catalog's cloud section has no runtime for the model
  kNoPhone,              // peer.phone_available is false
  kPhoneRefusesOffload,  // the phone's device class does not accept offloads
  kProfileCannotRun,     // the executing device class has no runtime for the model
  kNotInstalled,         // not in device.models / peer.phone_models
  kNotEnoughMemory,      // device.free_mem_mb is below the model's memory_mb and it is not loaded
};

Availability CheckAvailability(const Policy& policy, const DecisionInput& input, Route route);

// The predictor's figures (device_profiles/predictor.h) for running the request on `route`;
// all zero when the executing device class has no runtime for the model.
Prediction PredictRoute(const Policy& policy, const DecisionInput& input, Route route);

// "the network is offline", "no phone is available", ...
std::string_view Describe(Availability a);

// "guard", "unavailable", "requirement", "budget", "not best" ("" for kNone).
std::string_view Name(Exclusion e);

}  // namespace partita::policy
