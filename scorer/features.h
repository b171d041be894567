// The scorer's features of a prompt, the same in every language: hashed character 3-grams
// over UTF-8 code points (so Chinese, with no spaces, is covered), hashed word unigrams
// and bigrams, and a few dense measures of structure (length, digits, operators, code,
// multiple-choice options, parts and questions). Invalid UTF-8 counts as U+FFFD; only the first
// kMaxCodePoints code points give n-grams (the counts cover all of them), so a megabyte-long
// prompt costs one pass over its bytes. One extractor per thread; its buffers are reused, so
// extraction does not allocate once they have grown to the longest prompt seen.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace partita::scorer {

inline constexpr int kFeatureBits = 17;
inline constexpr std::uint32_t kFeatureCount = 1u << kFeatureBits;  // weights in a model
inline constexpr std::uint32_t kDenseFeatures = 14;  // slots 0..13; hashed ones use the rest
inline constexpr std::size_t kMaxCodePoints = 16384;

struct Features {
  std::array<float, kDenseFeatures> dense{};
  std::vector<std::uint32_t> hashed;  // slots in [kDenseFeatures, kFeatureCount), repeats kept
  float hashed_value = 0;             // each hashed slot's value: 1/sqrt(hashed.size())
};

class FeatureExtractor {
 public:
  void Extract(std::string_view text, Features& out);

 private:
  std::vector<char32_t> text_;  // normalised code points
};

// The names of the dense slots, for `scorer` output and docs.
const std::array<std::string_view, kDenseFeatures>& DenseFeatureNames();

}  // namespace partita::scorer
