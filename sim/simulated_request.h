// What the simulator determined about one request, as indexes and numbers: no text, so the
// simulation thread never formats or copies strings. A RowRenderer turns it into the
// request-log row (storage/request_log.h), wherever the rows are written.
#pragma once

#include <array>
#include <cstdint>

#include "policies/decision.h"

namespace partita::sim {

// How one attempt on one tier ended (the request log's `trail` spells these out).
enum class AttemptOutcome : std::uint8_t {
  kOk,
  kRefused,
  kErrorStatus,
  kDeclined,
  kNoFirstToken,
  kStalled,
  kDeadline,
  kUnavailable,
};

// "ok", "refused", "error_status", ...
const char* Name(AttemptOutcome outcome);

struct SimulatedAttempt {
  policy::Route route;
  AttemptOutcome outcome = AttemptOutcome::kUnavailable;
  double spent_ms = 0;
};

struct SimulatedRequest {
  std::int64_t run_id = 0;
  std::uint64_t request_id = 0;
  std::uint32_t device = 0;  // index in the World
  double t_s = 0;            // simulated seconds since the run's start

  // The decision's facts (policy::DecisionInput, less what the row does not keep).
  int hour = 0;
  policy::RequestFacts request;
  double battery_pct = 0;
  bool charging = false;
  Thermal thermal = Thermal::kNominal;
  NetworkType network = NetworkType::kWifi;
  double rtt_ms = 0;
  double cloud_load = 0;
  bool cloud_healthy = true;
  bool phone_available = false;

  // The decision.
  bool decided = false;  // false: no allowed tier
  std::int32_t rule_index = -1;
  policy::Route route;
  std::array<policy::Route, policy::kMaxFallback> fallback{};
  std::uint8_t fallback_count = 0;
  std::uint32_t guards_applied = 0;  // bit g: guard g applied
  std::uint32_t deadline_ms = 0;
  Prediction prediction;

  // The outcome.
  bool success = false;
  bool answered = false;  // some tier produced tokens (success or truncated)
  bool deadline_missed = false;
  policy::Route final_route;  // meaningful when answered
  double ttft_ms = -1;        // -1: no token arrived
  double total_ms = 0;
  std::uint32_t tokens_out = 0;
  double cost_usd = 0;
  double energy_j = 0;
  double quality = 0;
  int label_correct = -1;        // 1/0: the answer by its labeled prompt's label; -1: not labeled
  const char* label_model = "";  // "weak" or "strong": which label scored it
  std::array<SimulatedAttempt, 1 + policy::kMaxFallback> attempts{};
  std::uint8_t attempt_count = 0;
};

}  // namespace partita::sim
