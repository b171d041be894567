#include "common/did_you_mean.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace partita {

std::size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance, O(|a|*|b|) with three rows.
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                       std::tolower(static_cast<unsigned char>(b[j - 1]))
                                   ? 0
                                   : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::optional<std::string_view> ClosestMatch(std::string_view word,
                                             std::span<const std::string_view> candidates) {
  if (word.size() > 256) return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (std::string_view c : candidates) {
    const std::size_t d = EditDistance(word, c);
    if (!best || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (!best) return std::nullopt;
  // A plausible typo: at most a third of the longer name differs (and at least one edit).
  const std::size_t longest = std::max(word.size(), best->size());
  const std::size_t allowed = std::max<std::size_t>(1, longest / 3);
  if (best_distance > allowed) {
    // Also accept a candidate that ends with or starts with the word ("battery" -> "battery_pct").
    for (std::string_view c : candidates) {
      if (word.size() >= 4 && (c.starts_with(word) || c.ends_with(word))) return c;
    }
    // Or one with a '_'- or '.'-separated part the word is a typo of ("battry" ->
    // "battery_pct"), the closest such part winning.
    if (word.size() < 4) return std::nullopt;
    std::optional<std::string_view> part_match;
    std::size_t part_distance = 0;
    for (std::string_view c : candidates) {
      std::size_t start = 0;
      while (start <= c.size()) {
        std::size_t end = c.find_first_of("_.", start);
        if (end == std::string_view::npos) end = c.size();
        const std::string_view part = c.substr(start, end - start);
        if (part.size() >= 4 && part.size() < c.size()) {
          const std::size_t d = EditDistance(word, part);
          const std::size_t limit =
              std::max<std::size_t>(1, std::max(word.size(), part.size()) / 3);
          if (d <= limit && (!part_match || d < part_distance)) {
            part_match = c;
            part_distance = d;
          }
        }
        start = end + 1;
      }
    }
    return part_match;
  }
  return best;
}

std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  auto match = ClosestMatch(word, candidates);
  if (!match) return "";
  return "; did you mean '" + std::string(*match) + "'?";
}

std::string JoinAlternatives(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace partita
