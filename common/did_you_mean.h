// Spelling suggestions for unknown names in user files ("did you mean 'battery_pct'?").
// Pure functions; safe from any thread.
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace partita {

// Edit distance (insertions, deletions, substitutions, adjacent transpositions).
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string_view> ClosestMatch(std::string_view word,
                                             std::span<const std::string_view> candidates);

// "; did you mean 'x'?" when a close candidate exists, otherwise "".
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);

// "a, b or c" for listing what is allowed.
std::string JoinAlternatives(std::span<const std::string_view> names);

}  // namespace partita
