// Turns a simulation's SimulatedRequests into request-log rows: device and household names,
// rule and guard names, tier and model spellings, the trail. Built once per simulated policy
// from the world and the policy, then immutable, so any thread may render with it (the run
// database renders on its writer thread) and it may outlive the Simulator that made it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policies/policy.h"
#include "sim/simulated_request.h"
#include "sim/world.h"
#include "storage/request_log.h"

namespace partita::sim {

class RowRenderer {
 public:
  RowRenderer(const World& world, const policy::Policy& policy);

  // Fills both records (reusing their string storage).
  void Render(const SimulatedRequest& request, storage::DecisionRecord& decision,
              storage::OutcomeRecord& outcome) const;

  const std::string& DeviceId(std::uint32_t device) const { return device_ids_[device]; }
  // Unix ms of simulated time t_s.
  std::int64_t UnixMs(double t_s) const;

 private:
  std::vector<std::string> device_ids_;
  std::vector<std::uint32_t> device_household_;
  std::vector<DeviceClassIndex> device_profile_;
  std::vector<std::string> household_names_;
  std::vector<std::string> profile_names_;
  std::vector<std::string> model_names_;
  std::vector<std::string> rule_names_;
  std::vector<std::string> guard_names_;
  std::string policy_version_;
  std::int64_t origin_unix_ms_ = 0;
};

}  // namespace partita::sim
