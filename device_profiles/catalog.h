// The device and model catalog: what each device class and each model can do, with sources.
//
// A Catalog is loaded once from YAML (catalog_loader.h), validated, and then shared read-only
// (std::shared_ptr<const Catalog>) by the policy engine, the router, the agents and the
// simulator. Models and device classes are addressed by small integer indexes after lookup so
// hot paths never compare strings. Immutable after loading: safe to read from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"

namespace partita {

using ModelIndex = std::uint16_t;
using DeviceClassIndex = std::uint16_t;

// A model's answer quality against request difficulty, measured: P(correct) =
// 1 / (1 + exp(-(intercept + slope * difficulty))), fitted to labeled outcomes by
// `partita scorer calibrate` (docs/routing.md). Its difficulty is the scorer's.
struct QualityCurve {
  double intercept = 0;
  double slope = 0;
  std::string source;  // what it was fitted on
};

struct ModelSpec {
  std::string name;    // "milm-1.3b"
  std::string family;  // "MiLM"
  std::string description;
  double params_total_b = 0;   // billions of parameters
  double params_active_b = 0;  // active per token (MoE), billions
  std::string quantization;    // "int4", "fp8", ...
  double memory_mb = 0;        // resident memory to serve it (weights + runtime), MiB; 0 = n/a
  double mmlu_pct = 0;         // benchmark scores, percent
  double gsm8k_pct = 0;
  double price_usd_per_1m_input_tokens = 0;
  double price_usd_per_1m_output_tokens = 0;
  double base_latency_ms = 0;                 // fixed time before the first token besides prefill
  std::optional<QualityCurve> quality_curve;  // measured; absent: predicted from the scores
  std::string source;
  SourceLocation location;

  // (mmlu_pct + gsm8k_pct) / 200: the 0..1 score the predicted quality curve uses.
  double QualityScore() const { return (mmlu_pct + gsm8k_pct) / 200.0; }
  // Expected answer quality (0..1) at `difficulty`: the measured curve when the catalog has one,
  // else the curve predicted from QualityScore() (QualityFor in predictor.h).
  double QualityAt(double difficulty) const;
};

// How fast one model runs on one device class (or in the cloud).
struct ModelRuntime {
  ModelIndex model = 0;
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 0;  // one stream
  double sustained_factor = 1.0;   // tokens/s multiplier once thermally throttled (0..1]
  double cold_load_ms = 0;         // time to load the model when it is not warm
  bool resident = false;           // kept loaded: never pays the cold load
  std::string source;
  SourceLocation location;
};

struct DeviceClass {
  std::string name;          // "phone-mid"; policies read it as device.profile
  std::string device_class;  // coarse kind: speaker, phone, car, watch, ...; device.class
  std::string description;
  double ram_mb = 0;
  double battery_wh = 0;  // 0 = mains powered
  double idle_power_w = 0;
  double active_power_w = 0;     // while running inference
  double radio_power_w = 0;      // while waiting on a remote tier (network active)
  bool accepts_offload = false;  // can serve the phone tier for its household
  std::vector<ModelRuntime> runtimes;
  std::string source;
  SourceLocation location;

  bool OnMains() const { return battery_wh <= 0; }
  const ModelRuntime* RuntimeFor(ModelIndex model) const;
};

struct CloudSpec {
  double queue_reference_ms = 0;  // queue wait at 50% load (grows as load/(1-load))
  std::vector<ModelRuntime> runtimes;
  std::string source;

  const ModelRuntime* RuntimeFor(ModelIndex model) const;
};

class Catalog {
 public:
  const std::string& name() const { return name_; }
  const std::string& source_file() const { return source_file_; }
  // SHA-256 of the YAML text the catalog was loaded from.
  const std::string& content_hash() const { return content_hash_; }

  const std::vector<ModelSpec>& models() const { return models_; }
  const std::vector<DeviceClass>& devices() const { return devices_; }
  const CloudSpec& cloud() const { return cloud_; }

  std::optional<ModelIndex> FindModel(std::string_view name) const;
  std::optional<DeviceClassIndex> FindDevice(std::string_view name) const;
  const ModelSpec& model(ModelIndex i) const { return models_[i]; }
  const DeviceClass& device(DeviceClassIndex i) const { return devices_[i]; }

  std::vector<std::string_view> ModelNames() const;
  std::vector<std::string_view> DeviceNames() const;

 private:
  friend class CatalogBuilder;
  std::string name_;
  std::string source_file_;
  std::string content_hash_;
  std::vector<ModelSpec> models_;
  std::vector<DeviceClass> devices_;
  CloudSpec cloud_;
};

}  // namespace partita
