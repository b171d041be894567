#include "storage/request_row.h"

#include <charconv>
#include <cmath>

namespace partita::storage {

void AppendListItem(std::string& list, std::string_view item) {
  if (!list.empty()) list += ',';
  list += item;
}

void AppendTrailStep(std::string& trail, std::string_view tier, std::string_view result,
                     double elapsed_ms) {
  if (!trail.empty()) trail += '>';
  trail += tier;
  trail += ':';
  trail += result;
  trail += ':';
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, std::llround(elapsed_ms));
  if (ec == std::errc()) trail.append(digits, end);
}

std::string_view FailureReason(bool had_allowed_tier, bool success, bool deadline_missed) {
  if (!had_allowed_tier) return "no_allowed_tier";
  if (success) return "";
  return deadline_missed ? "deadline" : "all_tiers_failed";
}

}  // namespace partita::storage
