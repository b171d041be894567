#include "policies/policy.h"

namespace partita::policy {

std::string_view Policy::rule_name(std::int32_t i) const {
  if (i < 0 || static_cast<std::size_t>(i) >= program_.rule_info.size()) return "(defaults)";
  return program_.rule_info[static_cast<std::size_t>(i)].name;
}

std::int32_t Policy::FindRule(std::string_view name) const {
  for (std::size_t i = 0; i < program_.rule_info.size(); ++i) {
    if (program_.rule_info[i].name == name) return static_cast<std::int32_t>(i);
  }
  return -1;
}

std::string_view Policy::guard_name(std::size_t i) const {
  if (i >= program_.guard_info.size()) return "";
  return program_.guard_info[i].name;
}

std::string Policy::GuardList(std::uint32_t mask) const {
  std::string list;
  for (std::size_t g = 0; g < guard_count() && g < 32; ++g) {
    if (((mask >> g) & 1u) == 0) continue;
    if (!list.empty()) list += ',';
    list += guard_name(g);
  }
  return list;
}

}  // namespace partita::policy
