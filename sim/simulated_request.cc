#include "sim/simulated_request.h"

namespace partita::sim {

const char* Name(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kOk: return "ok";
    case AttemptOutcome::kRefused: return "refused";
    case AttemptOutcome::kErrorStatus: return "error_status";
    case AttemptOutcome::kDeclined: return "declined";
    case AttemptOutcome::kNoFirstToken: return "no_first_token";
    case AttemptOutcome::kStalled: return "stalled";
    case AttemptOutcome::kDeadline: return "deadline";
    case AttemptOutcome::kUnavailable: return "unavailable";
  }
  return "unknown";
}

}  // namespace partita::sim
