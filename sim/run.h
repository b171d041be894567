// `partita sim`: simulates a fleet under one or more policies into one run database.
//
// Every policy runs on the identical simulated world (same seed: same arrivals, request
// features, networks, outages and failures), one after the other, each as one run in the
// database (runs.label = the policy name). The simulation thread and the database writer thread
// run side by side. Blocking; call from the CLI or a test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "policies/policy.h"
#include "sim/fleet.h"
#include "sim/simulator.h"

namespace partita::sim {

struct SimulationOptions {
  FleetPtr fleet;
  std::vector<policy::PolicyPtr> policies;
  std::uint64_t seed = 1;
  double hours = 24;
  std::string out_path;  // the run database (replaced if it exists)
  std::string csv_path;  // optional: also export the requests table as CSV
};

struct SimProgress {
  std::size_t run_index = 0;  // 0-based
  std::size_t run_count = 0;
  std::string label;
  double hours_done = 0;
  double hours_total = 0;
  std::uint64_t requests = 0;
};

struct RunSummary {
  storage::RunInfo info;
  SimulationStats stats;
};

Result<std::vector<RunSummary>> RunSimulation(
    const SimulationOptions& options, const std::function<void(const SimProgress&)>& progress = {});

}  // namespace partita::sim
