#include "device_profiles/predictor.h"

#include <algorithm>
#include <cmath>

namespace partita {

double ThermalSpeedFactor(Thermal thermal, double sustained_factor) {
  const double s = std::clamp(sustained_factor, 0.01, 1.0);
  switch (thermal) {
    case Thermal::kNominal: return 1.0;
    case Thermal::kFair: return 1.0 - (1.0 - s) / 2.0;
    case Thermal::kSerious: return s;
    case Thermal::kCritical: return s / 2.0;
  }
  return 1.0;
}

double QualityFor(double quality_score, double difficulty) {
  const double s = std::clamp(quality_score, 0.01, 0.99);
  const double d = std::clamp(difficulty, 0.0, 1.0);
  const double logit = std::log(s / (1.0 - s));
  return 1.0 / (1.0 + std::exp(-(logit + 2.6 - 2.9 * d)));
}

double ModelSpec::QualityAt(double difficulty) const {
  if (!quality_curve) return QualityFor(QualityScore(), difficulty);
  const double d = std::clamp(difficulty, 0.0, 1.0);
  return 1.0 / (1.0 + std::exp(-(quality_curve->intercept + quality_curve->slope * d)));
}

PredictionDetail PredictDetail(const ExecutionSite& site, const RequestShape& request) {
  PredictionDetail d;
  if (site.model == nullptr || site.runtime == nullptr) return d;
  const ModelSpec& model = *site.model;
  const ModelRuntime& rt = *site.runtime;
  const double factor = ThermalSpeedFactor(site.executor_thermal, rt.sustained_factor);
  const double prefill_tps = std::max(1e-3, rt.prefill_tokens_per_s * factor);
  const double decode_tps = std::max(1e-3, rt.decode_tokens_per_s * factor);

  if (site.tier == Tier::kCloud) {
    const double rho = std::clamp(site.cloud_load, 0.0, 0.95);
    d.queue_ms = site.cloud_queue_reference_ms * rho / (1.0 - rho);
  }
  d.rtt_ms = site.rtt_ms;
  d.base_ms = model.base_latency_ms;
  d.cold_ms = (site.warm || rt.resident) ? 0.0 : rt.cold_load_ms;
  d.prefill_ms = 1000.0 * request.tokens_in / prefill_tps;
  d.decode_ms_per_token = 1000.0 / decode_tps;
  const double out_tokens = std::max<std::uint32_t>(request.tokens_out, 1);
  const double decode_ms = d.decode_ms_per_token * out_tokens;

  Prediction& p = d.total;
  p.ttft_ms = d.rtt_ms + d.base_ms + d.queue_ms + d.cold_ms + d.prefill_ms + d.decode_ms_per_token;
  p.latency_ms = p.ttft_ms + (decode_ms - d.decode_ms_per_token);
  p.cost_usd = request.tokens_in * model.price_usd_per_1m_input_tokens / 1e6 +
               request.tokens_out * model.price_usd_per_1m_output_tokens / 1e6;
  // Energy counts what is drawn from batteries: a mains-powered device's work is free.
  if (site.executor != nullptr && !site.executor->OnMains()) {
    d.compute_power_w = std::max(0.0, site.executor->active_power_w - site.executor->idle_power_w);
  }
  if (site.tier != Tier::kDevice && site.asker != nullptr && !site.asker->OnMains()) {
    d.radio_power_w = site.asker->radio_power_w;
  }
  const double compute_s = (d.cold_ms + d.prefill_ms + decode_ms) / 1000.0;
  p.energy_j = d.compute_power_w * compute_s + d.radio_power_w * p.latency_ms / 1000.0;
  p.quality = model.QualityAt(request.difficulty);
  return d;
}

Prediction Predict(const ExecutionSite& site, const RequestShape& request) {
  return PredictDetail(site, request).total;
}

}  // namespace partita
