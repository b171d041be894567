// The router's decision step: a DecideRequest from a device, with the device's live state,
// its household phone and the fleet context, through the policy's decision function
// (policies/decision.h), into a Decision for the wire and a row for the decision log.
//
// Holds no mutable state of its own: the serving policy comes from the PolicyStore (a request
// keeps the PolicyPtr it started with), device state from the FleetRegistry, cloud health and
// load from CloudState. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "policies/policy_store.h"
#include "proto/partita.pb.h"
#include "router/fleet_registry.h"
#include "storage/request_log.h"

namespace partita::router {

// Fleet context shared by all sessions: cloud health and load (from config or the gateway's
// health endpoint) and the day's spend (from outcomes).
class CloudState {
 public:
  CloudState(bool healthy, double load, double budget_usd_per_day)
      : healthy_(healthy), load_(load), budget_usd_per_day_(budget_usd_per_day) {}
  void Set(bool healthy, double load) {
    healthy_.store(healthy);
    load_.store(load);
  }
  bool healthy() const { return healthy_.load(); }
  double load() const { return load_.load(); }
  void AddSpend(double usd, std::int64_t unix_ms);
  // The lesser of the router's own tally and what the gateway reports (its ledger is exact).
  double BudgetLeft(std::int64_t unix_ms) const;
  void SetGatewayBudgetLeft(double usd) { gateway_budget_left_.store(usd); }

 private:
  std::atomic<bool> healthy_;
  std::atomic<double> load_;
  std::atomic<double> gateway_budget_left_{-1};  // -1: not reported
  const double budget_usd_per_day_;
  mutable std::mutex mu_;
  std::int64_t day_ = -1;   // guarded by mu_
  double spent_today_ = 0;  // guarded by mu_
};

struct DecisionOutput {
  v1::Decision decision;
  std::shared_ptr<storage::DecisionRecord> record;
  Tier tier = Tier::kDevice;
  bool ok = false;
  std::string rule;
  std::int32_t rule_index = -1;
  std::string policy_version;
  double decide_us = 0;
};

class Decider {
 public:
  Decider(FleetRegistry& registry, policy::PolicyStore& policies, CloudState& cloud)
      : registry_(registry), policies_(policies), cloud_(cloud) {}

  DecisionOutput Decide(const DeviceSnapshot& device, const v1::DecideRequest& request) const;

 private:
  FleetRegistry& registry_;
  policy::PolicyStore& policies_;
  CloudState& cloud_;
};

// Wire form of a decision's route for `device` (fills the phone's id and endpoint).
void FillRoute(const policy::Policy& policy, const policy::Route& route,
               const DeviceSnapshot* phone, v1::Route* out);

std::int64_t UnixMillis();
// The local hour of day for `unix_ms`.
int LocalHour(std::int64_t unix_ms);

}  // namespace partita::router
