// Simulates one policy over a fleet: request arrivals, decisions by the production decision
// function (policies/decision.h), execution on the device, the household phone or the cloud
// with the fallback chain the agent walks, batteries, heat, cold loads and the cloud's queue.
//
// Deterministic: the same fleet, catalog, policy, seed and hours give the same rows in the same
// order. Exogenous randomness (arrivals, request features, networks, failures) is keyed by
// device, request and time, not by what the policy decided, so runs of different policies on
// one seed face the same world. Opens no sockets. A Simulator is used by one thread; Run()
// generates the arrivals on one more (sim/arrivals.h).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "policies/policy.h"
#include "sim/fleet.h"
#include "sim/row_sink.h"
#include "sim/world.h"

namespace partita::sim {

struct Arrival;

// Latency percentiles without keeping every sample: buckets 2% wide from 0.1 ms to ~1 hour.
class LatencyHistogram {
 public:
  void Add(double ms);
  double Percentile(double p) const;  // p in [0, 100]; 0 when empty
  std::uint64_t count() const { return count_; }

 private:
  static constexpr int kBuckets = 900;
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
};

struct SimulationStats {
  std::uint64_t requests = 0;         // decided and executed
  std::uint64_t dropped_offline = 0;  // arrived while the device's battery was empty
  std::uint64_t succeeded = 0;
  std::uint64_t fell_back = 0;  // needed more than one attempt
  std::uint64_t battery_empty_events = 0;
  std::array<std::uint64_t, kTierCount> answered_by{};  // successful answers per final tier
  double cost_usd = 0;
  double energy_j = 0;
  LatencyHistogram latency_ms;  // total latency of successful answers
  double simulated_hours = 0;
};

// Called every `progress_every` requests and at the end, from the simulation thread.
using ProgressFn = std::function<void(double simulated_hours_done, std::uint64_t requests)>;

class Simulator {
 public:
  Simulator(const FleetSpec& fleet, const policy::Policy& policy, std::uint64_t seed, double hours);

  // Runs the simulation, writing every request, battery sample and the run's totals to `sink`
  // under `run_id`.
  SimulationStats Run(std::int64_t run_id, RowSink& sink, const ProgressFn& progress = {});

  const World& world() const { return world_; }

 private:
  struct Attempt;
  struct Execution;

  void HandleArrival(const Arrival& arrival);
  Execution Execute(std::uint32_t device, double t, const policy::DecisionInput& input,
                    const policy::DecisionResult& decision, std::uint64_t request_id);
  Attempt TryTier(std::uint32_t device, double start_s, const policy::Route& route,
                  const policy::DecisionInput& input, std::uint32_t tokens_in,
                  std::uint32_t tokens_out, double remaining_ms, std::uint64_t request_id,
                  int attempt_index);
  void SampleBatteries(double t, std::int64_t run_id, RowSink& sink);
  double CloudLoad(double t);
  bool CloudOutage(double t, bool* hang) const;
  bool CloudHealthyAsSeen(double t) const;
  bool PhoneAdmits(const SimDevice& phone, double t) const;

  const FleetSpec& fleet_;
  const policy::Policy& policy_;
  const Catalog& catalog_;
  std::uint64_t seed_;
  double end_s_;
  World world_;
  std::shared_ptr<const RowRenderer> renderer_;
  // End times of streams occupying cloud capacity, earliest first.
  std::priority_queue<double, std::vector<double>, std::greater<>> cloud_busy_;
  double cloud_spend_day_usd_ = 0;
  std::int64_t cloud_spend_day_ = 0;
  std::int64_t run_id_ = 0;
  RowSink* sink_ = nullptr;
  SimulationStats stats_;
  SimulatedRequest row_;
  policy::DecisionResult result_;
};

}  // namespace partita::sim
