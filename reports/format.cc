#include "reports/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace partita::reports {

namespace {

std::string Printf(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Inserts thousands separators into the integer part of a formatted number.
std::string GroupThousands(std::string s) {
  const std::size_t start = (!s.empty() && s[0] == '-') ? 1 : 0;
  std::size_t end = s.find('.');
  if (end == std::string::npos) end = s.size();
  for (std::size_t i = end; i > start + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

}  // namespace

std::string FormatCount(std::uint64_t n) { return GroupThousands(std::to_string(n)); }

std::string FormatFixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s == "-0" || s.rfind("-0.", 0) == 0) {
    bool all_zero = true;
    for (char c : s.substr(1)) all_zero &= (c == '0' || c == '.');
    if (all_zero) s.erase(0, 1);
  }
  return GroupThousands(s);
}

std::string FormatMs(double ms) {
  const double a = std::fabs(ms);
  if (a >= 99'950) return FormatFixed(ms / 1000.0, 0) + " s";
  if (a >= 9'995) return FormatFixed(ms / 1000.0, 1) + " s";
  if (a >= 999.5) return FormatFixed(ms / 1000.0, 2) + " s";
  if (a >= 100) return FormatFixed(ms, 0) + " ms";
  if (a >= 1) return FormatFixed(ms, 1) + " ms";
  if (a == 0) return "0 ms";
  return FormatFixed(ms, 2) + " ms";
}

std::string FormatUsd(double usd) {
  const double a = std::fabs(usd);
  std::string sign = usd < 0 ? "-" : "";
  if (a >= 100) return sign + "$" + FormatFixed(a, 0);
  if (a >= 0.095 || a == 0) return sign + "$" + FormatFixed(a, 2);
  // Two significant digits below ten cents: "$0.011", "$0.0059".
  const int decimals = std::min(8, 1 - static_cast<int>(std::floor(std::log10(a))));
  return sign + "$" + Printf(("%." + std::to_string(decimals) + "f").c_str(), a);
}

std::string FormatShare(double fraction) {
  const double pct = fraction * 100.0;
  const double a = std::fabs(pct);
  if (a == 0) return "0%";
  if (a >= 99.95 && a < 100) return FormatFixed(pct, 2) + "%";
  if (a < 0.1) return FormatFixed(pct, 2) + "%";
  std::string s = FormatFixed(pct, 1);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s + "%";
}

std::string FormatShareFixed(double fraction) {
  const double pct = fraction * 100.0;
  const double a = std::fabs(pct);
  if (a == 0) return "0%";
  if (a < 0.1 || (a >= 99.95 && a < 100)) return FormatFixed(pct, 2) + "%";
  return FormatFixed(pct, 1) + "%";
}

std::string FormatWh(double wh) {
  const double a = std::fabs(wh);
  if (a >= 100) return FormatFixed(wh, 0) + " Wh";
  if (a >= 10) return FormatFixed(wh, 1) + " Wh";
  if (a >= 0.1 || a == 0) return FormatFixed(wh, 2) + " Wh";
  return FormatFixed(wh, 3) + " Wh";
}

std::string FormatQuality(double q) { return FormatFixed(q, 2); }

std::string FormatRelative(double fraction) {
  const double pct = std::fabs(fraction) * 100.0;
  if (pct >= 9.95) return FormatFixed(pct, 0) + "%";
  std::string s = FormatFixed(pct, 1);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s + "%";
}

std::string CauseWords(std::string_view cause) {
  // The results of proto AttemptResult (docs/wire-protocol.md) and of the simulator.
  static constexpr std::pair<std::string_view, std::string_view> kWords[] = {
      {"refused", "a refused connection"},  {"error_status", "an error status"},
      {"declined", "the phone declining"},  {"no_first_token", "no first token in time"},
      {"stalled", "a stall mid-stream"},    {"broken", "a stream broken mid-answer"},
      {"deadline", "the deadline passing"}, {"guard_blocked", "a guard blocking the tier"},
      {"budget", "the budget running out"}, {"unavailable", "no target on the tier"},
      {"unknown", "an unrecorded cause"},
  };
  for (const auto& [name, words] : kWords) {
    if (name == cause) return std::string(words);
  }
  std::string out(cause);
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

std::string RequestsPerRun(const std::vector<std::uint64_t>& counts) {
  if (counts.empty()) return "0 requests";
  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  const std::string n = FormatCount(*hi) + (*hi == 1 ? " request" : " requests");
  if (counts.size() == 1) return n;
  if (*lo == *hi) return n + " per run";
  return FormatCount(*lo) + " to " + FormatCount(*hi) + " requests per run";
}

std::string ShortHash(std::string_view hash) { return std::string(hash.substr(0, 12)); }

}  // namespace partita::reports
