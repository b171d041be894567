// Numbers formatted for people, the same way in every report format that people read
// (HTML, Markdown, findings): "1,234", "12.3 ms", "1.2 s", "$0.42", "12.3%".
// Machine formats (CSV, JSON) carry raw numbers instead. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace partita::reports {

inline constexpr std::string_view kNotRecorded = "not recorded";
inline constexpr std::string_view kMinus = "\u2212";  // a real minus sign for deltas

// 1234567 -> "1,234,567".
std::string FormatCount(std::uint64_t n);
// A plain number with thousands separators and `decimals` decimals: 12345.6 -> "12,345.6".
std::string FormatFixed(double v, int decimals);
// Milliseconds: "0.42 ms", "12.3 ms", "812 ms"; from a second on, seconds with three
// significant digits: "1.23 s", "12.3 s", "123 s".
std::string FormatMs(double ms);
// US dollars: "$1,234", "$12.34", "$0.42", "$0.011", "$0.0031" (two significant digits under
// ten cents).
std::string FormatUsd(double usd);
// A fraction as a percentage: 0.123 -> "12.3%", 0.5 -> "50%", 0.00042 -> "0.04%".
std::string FormatShare(double fraction);
// The same with one decimal kept, for table columns: "46.0%", "12.3%", "0.05%", "0%".
std::string FormatShareFixed(double fraction);
// Watt-hours: "1.23 Wh", "12.3 Wh", "0.042 Wh".
std::string FormatWh(double wh);
// A 0..1 quality score: "0.84".
std::string FormatQuality(double q);
// A relative change as a whole percentage when >= 10%, else one decimal: "41%", "4.5%".
std::string FormatRelative(double fraction);

// The value through `f`, or "not recorded".
template <typename F>
std::string OrNotRecorded(const std::optional<double>& v, F f) {
  return v ? f(*v) : std::string(kNotRecorded);
}

// An attempt result as stored in `fallback_cause` and trails ("no_first_token"), in words that
// read after "after" ("no first token in time"), for every format people read. Unknown names
// come back with their underscores as spaces. CSV and JSON keep the stored names.
std::string CauseWords(std::string_view cause);

// How many requests the runs have, as a reader expects it: "7 requests" for one run, "7 requests
// per run" when every run has that many (a log replayed under three policies is 7 requests per
// run, not 21), "6 to 7 requests per run" otherwise.
std::string RequestsPerRun(const std::vector<std::uint64_t>& counts);

// Short form of a SHA-256 hex hash for tables ("3f2a9c1b0e7d"); "" stays "".
std::string ShortHash(std::string_view hash);

}  // namespace partita::reports
