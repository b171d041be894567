// One row of the request log's `requests` table, defined once. The three column lists below
// (C++ type, record field, SQL column, default) are the table in column order: the records,
// the schema, the writer's binds, the readers' SELECT lists and the CSV export all derive from
// them, so a new column is one line here (and its unit in docs/request-log.md). A database
// written before a column existed gains it, with its default, when a writer opens it; readers
// of such a file read the default.
//
// Text columns use the YAML spellings ("cloud", "wifi"); tiers are enums in the records, text in
// the table (operators query `tier = 'cloud'`). Prompts and answers are never stored.
// Threading: plain data and constant tables.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/vocabulary.h"

namespace partita::storage {

// The key every row is found by: (run_id, request_id, device_id).
#define PARTITA_REQUEST_KEY_COLUMNS(X)        \
  X(std::int64_t, run_id, run_id, 0)          \
  X(std::uint64_t, request_id, request_id, 0) \
  X(std::string, device_id, device_id, {})

// What was decided, and on what facts.
#define PARTITA_REQUEST_DECISION_COLUMNS(X)                                               \
  X(std::string, device_profile, device_profile, {})                                      \
  X(std::string, household, household, {})                                                \
  X(std::int64_t, t_ms, t_ms, 0)       /* unix ms of the decision */                      \
  X(int, hour, hour, 0)                /* local hour of day 0..23 */                      \
  X(std::string, kind, kind, {})       /* command | chat | reasoning */                   \
  X(std::string, privacy, privacy, {}) /* public | normal | private */                    \
  X(std::uint32_t, tokens_in, tokens_in, 0)                                               \
  X(std::uint32_t, tokens_out, tokens_out_expected, 0) /* expected answer tokens */       \
  X(double, difficulty, difficulty, 0)                                                    \
  X(std::uint32_t, latency_budget_ms, latency_budget_ms, 0)                               \
  X(double, max_cost_usd, max_cost_usd, 0)                                                \
  X(double, battery_pct, battery_pct, 0)                                                  \
  X(bool, charging, charging, false)                                                      \
  X(std::string, thermal, thermal, {})                                                    \
  X(std::string, network, network, {})                                                    \
  X(double, rtt_ms, rtt_ms, 0)                                                            \
  X(double, cloud_load, cloud_load, 0)                                                    \
  X(bool, cloud_healthy, cloud_healthy, true)                                             \
  X(bool, phone_available, phone_available, false)                                        \
  X(std::string, policy_version, policy_version, {}) /* kPolicyVersionChars of SHA-256 */ \
  X(std::string, rule, rule, {})                                                          \
  X(std::optional<Tier>, tier, tier, {}) /* decided tier; "" when none was allowed */     \
  X(std::string, model, model, {})                                                        \
  X(std::string, fallback, fallback, {}) /* comma-separated tiers, in order */            \
  X(std::string, guards, guards, {})     /* comma-separated guards that applied */        \
  X(std::uint32_t, deadline_ms, deadline_ms, 0)                                           \
  X(bool, decided_offline, decided_offline, false)                                        \
  X(double, decide_us, decide_us, 0)             /* time the decision function took */    \
  X(double, pred_latency_ms, pred_latency_ms, 0) /* the prediction for the route */       \
  X(double, pred_ttft_ms, pred_ttft_ms, 0)                                                \
  X(double, pred_cost_usd, pred_cost_usd, 0)                                              \
  X(double, pred_energy_j, pred_energy_j, 0)                                              \
  X(double, pred_quality, pred_quality, 0)

// What actually happened: NULL until the outcome arrives.
#define PARTITA_REQUEST_OUTCOME_COLUMNS(X)                                                     \
  X(std::int64_t, t_ms, outcome_t_ms, 0)             /* unix ms of the outcome */              \
  X(std::optional<Tier>, final_tier, final_tier, {}) /* "" when every tier failed */           \
  X(std::string, final_model, final_model, {})                                                 \
  X(bool, success, success, false)                                                             \
  X(bool, truncated, truncated, false)                                                         \
  X(double, ttft_ms, ttft_ms, 0)                                                               \
  X(double, total_ms, total_ms, 0)                                                             \
  X(std::uint32_t, tokens_out, tokens_out, 0)                                                  \
  X(double, cost_usd, cost_usd, 0)                                                             \
  X(double, energy_j, energy_j, 0)                                                             \
  X(double, quality, quality, 0)               /* predicted quality of the answering model */  \
  X(int, label_correct, label_correct, -1)     /* 1/0 by the prompt's label; -1 unlabeled */   \
  X(std::string, label_model, label_model, {}) /* "weak"/"strong": the label that scored it */ \
  X(std::uint32_t, attempts, attempts, 0)                                                      \
  X(std::string, fallback_cause, fallback_cause, {}) /* first failed attempt's result */       \
  X(std::string, trail, trail, {})                   /* "cloud:refused:3>phone:ok:950" */      \
  X(bool, deadline_missed, deadline_missed, false)                                             \
  X(std::string, error, error, {}) /* why the request failed, when it did */

#define PARTITA_REQUEST_FIELD(type, field, column, init) type field = init;

struct DecisionRecord {
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_REQUEST_FIELD)
  PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_REQUEST_FIELD)
};

struct OutcomeRecord {
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_REQUEST_FIELD)
  PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_REQUEST_FIELD)
};

#undef PARTITA_REQUEST_FIELD

// Every column, by its SQL name, in table order; the value is the column's 0-based position.
enum class RequestColumn : int {
#define PARTITA_REQUEST_ENUM(type, field, column, init) column,
  PARTITA_REQUEST_KEY_COLUMNS(PARTITA_REQUEST_ENUM)
      PARTITA_REQUEST_DECISION_COLUMNS(PARTITA_REQUEST_ENUM)
          PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_REQUEST_ENUM)
#undef PARTITA_REQUEST_ENUM
              kCount
};

inline constexpr std::size_t kRequestColumnCount = static_cast<std::size_t>(RequestColumn::kCount);

enum class SqlType : std::uint8_t { kInteger, kReal, kText };
enum class RowPart : std::uint8_t { kKey, kDecision, kOutcome };

struct RequestColumnInfo {
  std::string_view name;
  SqlType type;
  RowPart part;
};

namespace request_row_detail {
template <typename T>
constexpr RequestColumnInfo ColumnInfo(std::string_view name, RowPart part) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::optional<Tier>>) {
    return {name, SqlType::kText, part};
  } else if constexpr (std::is_floating_point_v<T>) {
    return {name, SqlType::kReal, part};
  } else {
    static_assert(std::is_integral_v<T>, "a request-log column is an integer, a real or text");
    return {name, SqlType::kInteger, part};
  }
}
}  // namespace request_row_detail

inline constexpr std::array<RequestColumnInfo, kRequestColumnCount> kRequestColumns = {{
#define PARTITA_REQUEST_KEY_INFO(type, field, column, init) \
  request_row_detail::ColumnInfo<type>(#column, RowPart::kKey),
#define PARTITA_REQUEST_DECISION_INFO(type, field, column, init) \
  request_row_detail::ColumnInfo<type>(#column, RowPart::kDecision),
#define PARTITA_REQUEST_OUTCOME_INFO(type, field, column, init) \
  request_row_detail::ColumnInfo<type>(#column, RowPart::kOutcome),
    PARTITA_REQUEST_KEY_COLUMNS(PARTITA_REQUEST_KEY_INFO) PARTITA_REQUEST_DECISION_COLUMNS(
        PARTITA_REQUEST_DECISION_INFO) PARTITA_REQUEST_OUTCOME_COLUMNS(PARTITA_REQUEST_OUTCOME_INFO)
#undef PARTITA_REQUEST_KEY_INFO
#undef PARTITA_REQUEST_DECISION_INFO
#undef PARTITA_REQUEST_OUTCOME_INFO
}};

constexpr const RequestColumnInfo& Info(RequestColumn c) {
  return kRequestColumns[static_cast<std::size_t>(c)];
}
constexpr std::string_view Name(RequestColumn c) { return Info(c).name; }

// The vocabulary of a row's composite columns, spelled once.
void AppendListItem(std::string& list, std::string_view item);  // "a,b"
void AppendTrailStep(std::string& trail, std::string_view tier, std::string_view result,
                     double elapsed_ms);  // "cloud:no_first_token:812>phone:ok:950"
// `error` of a request that was not answered successfully ("" when it was).
std::string_view FailureReason(bool had_allowed_tier, bool success, bool deadline_missed);

}  // namespace partita::storage
