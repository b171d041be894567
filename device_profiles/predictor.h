// The latency / cost / energy / quality predictor: the one model of "what happens if this
// request runs there", shared by the policy engine (route: best, explain), the router and the
// simulator, so that what a report predicts is what production decides.
//
// Formulas (docs/catalog.md explains them with a worked example):
//   speed      = tokens/s x ThermalSpeedFactor(thermal, sustained_factor)
//   queue_ms   = cloud.queue_reference_ms x rho / (1 - rho), rho = min(cloud_load, 0.95)  (cloud)
//   cold_ms    = cold_load_ms unless the model is warm or resident
//   ttft_ms    = rtt_ms + base_latency_ms + queue_ms + cold_ms + tokens_in / prefill_speed
//                + 1 / decode_speed
//   latency_ms = ttft_ms + (tokens_out - 1) / decode_speed
//   cost_usd   = tokens_in x input price + tokens_out x output price (per token)
//   energy_j   = battery energy: compute energy on the household device that runs it
//                ((active_power_w - idle_power_w) x compute time) + the asking device's radio
//                energy while it waits on a remote tier (radio_power_w x latency), each
//                counted only when that device runs on battery (mains power is free)
//   quality    = QualityFor(model score, difficulty)
// Pure functions, no allocation: safe on hot paths and from any thread.
#pragma once

#include <cstdint>

#include "common/vocabulary.h"
#include "device_profiles/catalog.h"

namespace partita {

struct Prediction {
  double ttft_ms = 0;
  double latency_ms = 0;
  double cost_usd = 0;
  double energy_j = 0;
  double quality = 0;
};

// Where and how a candidate would execute.
struct ExecutionSite {
  Tier tier = Tier::kDevice;
  const ModelSpec* model = nullptr;
  const ModelRuntime* runtime = nullptr;  // speed of the model where it runs
  const DeviceClass* executor = nullptr;  // device or phone class running it; null for cloud
  const DeviceClass* asker = nullptr;     // the device that asked (radio energy when remote)
  Thermal executor_thermal = Thermal::kNominal;
  bool warm = false;                    // model already loaded on the executor
  double rtt_ms = 0;                    // asker <-> executor round trip; 0 on device
  double cloud_load = 0;                // 0..1, cloud tier only
  double cloud_queue_reference_ms = 0;  // from the catalog's cloud section
};

struct RequestShape {
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;
  double difficulty = 0.5;  // 0..1
};

// Multiplier on tokens/s for a thermal state: nominal 1; fair halfway to the sustained
// factor; serious the sustained factor; critical half of it.
double ThermalSpeedFactor(Thermal thermal, double sustained_factor);

// Probability-like answer quality in (0, 1): sigmoid(logit(score) + 2.6 - 2.9 x difficulty).
// An easy request (difficulty 0) gets ~0.9 from the 1.3B model; a hard one (1.0) gets ~0.75 from
// the 70B model and ~0.33 from the 1.3B model.
double QualityFor(double quality_score, double difficulty);

Prediction Predict(const ExecutionSite& site, const RequestShape& request);

// Predict's intermediate terms, for callers that simulate an execution step by step (the fleet
// simulator cuts streams at timeouts and stalls, and charges energy to the device that spent
// it). Totals in `total` are exactly what Predict returns.
struct PredictionDetail {
  Prediction total;
  double rtt_ms = 0;
  double base_ms = 0;
  double queue_ms = 0;
  double cold_ms = 0;
  double prefill_ms = 0;
  double decode_ms_per_token = 0;
  double compute_power_w = 0;  // executor's active - idle power; 0 for the cloud or on mains
  double radio_power_w = 0;    // asker's radio power; 0 on the device tier or on mains
};
PredictionDetail PredictDetail(const ExecutionSite& site, const RequestShape& request);

}  // namespace partita
