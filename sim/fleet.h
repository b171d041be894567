// A simulated fleet: households of devices from the catalog, their workload, networks,
// charging habits and the cloud they share. Loaded from a `kind: Fleet` YAML file
// (docs/fleet.md documents every key, its default and the default's source).
// Immutable after loading; safe to share between simulation threads.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "common/status.h"
#include "common/vocabulary.h"
#include "device_profiles/catalog.h"
#include "device_profiles/catalog_loader.h"
#include "sim/distribution.h"

namespace partita::sim {

struct HouseholdTemplate {
  std::string name;
  std::int64_t count = 0;
  std::vector<DeviceClassIndex> devices;  // catalog device classes in one household
  SourceLocation location;
};

// Requests per device per day for one device class, spread over the day by `diurnal`.
struct ClassWorkload {
  std::string device_class;  // catalog `class` (speaker, phone, car, watch)
  double requests_per_day = 0;
  std::array<double, 24> diurnal{};  // weights per local hour, normalised to sum 1
};

// Real prompts with labels (scorer/labeled_data.h): the kind's requests are drawn from them,
// their difficulty is the shipped scorer's score of the prompt, and an answer by `weak_model`
// or `strong_model` is scored by the matching label (docs/fleet.md, "Labeled prompts").
struct LabeledPrompts {
  std::string file;  // resolved against the fleet file
  std::optional<ModelIndex> weak_model, strong_model;
  // Loaded by LoadFleetFile (ParseFleet only names the file): per prompt, in file order.
  std::vector<float> difficulty;
  std::vector<std::uint8_t> weak_correct, strong_correct;
  std::vector<std::uint32_t> tokens_in;  // about one token per 4 bytes, at least 1
};

struct KindWorkload {
  RequestKind kind = RequestKind::kChat;
  std::shared_ptr<const LabeledPrompts> prompts;  // null: difficulty and tokens_in are drawn
  double share = 0;
  Distribution difficulty = Distribution::Fixed(0.5);
  Distribution tokens_in = Distribution::Fixed(50);
  Distribution tokens_out = Distribution::Fixed(100);
  std::uint32_t latency_budget_ms = 0;  // 0 = the policy's default deadline
};

struct Workload {
  std::vector<ClassWorkload> classes;
  std::vector<KindWorkload> kinds;
  double private_share = 0.1;
  double public_share = 0.0;
};

struct ClassNetwork {
  std::string device_class;
  std::array<double, 4> shares{};  // indexed by NetworkType: offline, wifi, cellular, ethernet
};

struct Outage {
  double start_hour = 0;  // hours since the start of the simulation
  double duration_minutes = 0;
  double share = 1.0;  // network outages: the share of devices affected
  bool hang = false;   // cloud outages: hang (no first token) instead of refusing
  bool Covers(double t_hours) const {
    return t_hours >= start_hour && t_hours < start_hour + duration_minutes / 60.0;
  }
};

struct NetworkSpec {
  std::vector<ClassNetwork> classes;
  std::array<Distribution, 4> rtt_ms = {Distribution::Fixed(0), Distribution::Fixed(25),
                                        Distribution::Fixed(70), Distribution::Fixed(15)};
  Distribution phone_rtt_ms = Distribution::Fixed(6);
  double redraw_minutes = 60;
  std::vector<Outage> outages;
};

struct ChargeWindow {
  double start_hour = 22;  // local hour; a window may wrap past midnight
  double end_hour = 7;
  double probability = 1;  // share of devices of the class that use this window
};

struct ClassCharging {
  std::string device_class;
  Distribution start_pct = Distribution::Uniform(40, 100);
  double charger_w = 15;
  std::vector<ChargeWindow> windows;
};

struct CloudSpec {
  std::int64_t capacity = 2000;      // concurrent streams
  double budget_usd_per_day = 1e12;  // fleet.budget_left_usd starts here each day
  double error_rate = 0.002;         // share of cloud attempts answering an error status
  double stall_rate = 0.001;         // share of cloud streams that stall mid-answer
  double health_lag_seconds = 60;    // how late the router learns that the cloud refuses
  std::vector<Outage> outages;
};

struct AgentSpec {
  double ttft_timeout_ms = 4000;   // no first token by then: fall back
  double stall_timeout_ms = 2000;  // no chunk for this long mid-stream: fall back
  double warm_minutes = 10;        // a loaded non-resident model stays warm this long
  double device_error_rate = 0.001;
  double phone_drop_rate = 0.005;  // share of phone offloads that drop mid-answer
};

struct PhoneAdmission {
  double min_battery_pct = 20;           // a phone declines offloads below this (not charging)
  Thermal max_thermal = Thermal::kFair;  // and when hotter than this
  std::int64_t max_in_flight = 2;
};

// Thermal model: `heat` is seconds of recent compute, decaying with time constant tau.
struct ThermalSpec {
  double tau_s = 300;
  double fair_s = 30;
  double serious_s = 90;
  double critical_s = 180;
};

struct FleetSpec {
  std::string name;
  std::string description;
  std::string file;
  std::string content_hash;  // SHA-256 of the YAML text
  int start_hour = 0;        // local hour at simulated t = 0
  std::vector<HouseholdTemplate> households;
  Workload workload;
  NetworkSpec network;
  std::vector<ClassCharging> charging;
  CloudSpec cloud;
  AgentSpec agent;
  PhoneAdmission phone;
  ThermalSpec thermal;
  double battery_sample_minutes = 60;

  std::int64_t TotalDevices() const;
  std::int64_t TotalHouseholds() const;
  const ClassWorkload* WorkloadFor(const std::string& device_class) const;
  const ClassNetwork* NetworkFor(const std::string& device_class) const;
  const ClassCharging* ChargingFor(const std::string& device_class) const;
};

using FleetPtr = std::shared_ptr<const FleetSpec>;

FleetPtr ParseFleet(std::string_view yaml_text, Diagnostics& diagnostics, const Catalog& catalog);
Result<FleetPtr> LoadFleetFile(const std::string& path, const Catalog& catalog);

// A copy with household counts scaled so the fleet has about `devices` devices (at least one
// household of each template that had any).
FleetSpec ScaleFleet(const FleetSpec& fleet, std::int64_t devices);

}  // namespace partita::sim
