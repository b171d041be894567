#include "scorer/features.h"

#include <cmath>

namespace partita::scorer {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at `i` (advancing it); malformed sequences give U+FFFD.
char32_t NextCodePoint(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i++);
  if (b0 < 0x80) return b0;
  int extra = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return kReplacement;
  }
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (byte(i) & 0xC0) != 0x80) return kReplacement;
    cp = (cp << 6) | (byte(i++) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kReplacement;
  return cp;
}

bool IsSpace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000; }
bool IsAsciiAlnum(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
// A code point that belongs to a word: ASCII letters and digits, and letters of other scripts
// (everything from U+00C0 up except general punctuation and CJK punctuation).
bool IsWordChar(char32_t c) {
  if (c < 0x80) return IsAsciiAlnum(c);
  if (c >= 0x2000 && c <= 0x206F) return false;
  if (c >= 0x3000 && c <= 0x303F) return false;
  if (c >= 0xFF00 && c <= 0xFF0F) return false;
  return c >= 0xC0;
}
bool IsOperator(char32_t c) {
  return c == '+' || c == '-' || c == '*' || c == '/' || c == '=' || c == '^' || c == '<' ||
         c == '>' || c == '%';
}

// FNV-style combining, one multiply per code point; Slot() finishes the hash (an avalanche) and
// maps it onto the hashed slots by a multiply, not a division.
std::uint64_t Mix(std::uint64_t h, std::uint64_t v) { return (h ^ v) * 0x100000001B3ull; }
std::uint32_t Slot(std::uint64_t h) {
  h ^= h >> 31;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 32;
  constexpr std::uint64_t kHashed = kFeatureCount - kDenseFeatures;
  return kDenseFeatures + static_cast<std::uint32_t>(((h & 0xFFFFFFFFull) * kHashed) >> 32);
}

}  // namespace

const std::array<std::string_view, kDenseFeatures>& DenseFeatureNames() {
  static constexpr std::array<std::string_view, kDenseFeatures> kNames = {
      "log_length",   "digit_share",      "operator_share", "non_ascii_share",   "lines",
      "code_markers", "choice_lines",     "question_marks", "numbers",           "long_words",
      "parts",        "mean_word_length", "caps_words",     "mean_choice_length"};
  return kNames;
}

void FeatureExtractor::Extract(std::string_view text, Features& out) {
  out.dense.fill(0);
  out.hashed.clear();
  text_.clear();
  std::size_t total = 0, digits = 0, operators = 0, non_ascii = 0, lines = 1, questions = 0;
  std::size_t code = 0, choices = 0, parts = 0, caps_words = 0, caps_run = 0, choice_chars = 0;
  bool in_choice = false;
  bool at_line_start = true;
  char32_t line_first = 0;
  std::size_t line_len = 0;
  bool last_space = true;
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = NextCodePoint(text, i);
    if (c >= 'A' && c <= 'Z') {
      c += 'a' - 'A';
      if (++caps_run == 3) ++caps_words;  // "NOT", "EXCEPT", "LEAST": emphasis in a question
    } else {
      caps_run = 0;
    }
    if (in_choice) ++choice_chars;
    ++total;
    if (c >= '0' && c <= '9') ++digits;
    if (IsOperator(c)) ++operators;
    if (c >= 0x80) ++non_ascii;
    if (c == '?' || c == 0xFF1F) ++questions;
    if (c == '{' || c == '}' || c == ';' || c == '`') ++code;
    if (c == '\n') {
      ++lines;
      at_line_start = true;
      line_len = 0;
      in_choice = false;
    } else if (at_line_start && !IsSpace(c)) {
      line_first = c;
      at_line_start = false;
      line_len = 1;
    } else if (!at_line_start) {
      ++line_len;
      // "A." / "B)" at the start of a line: a multiple-choice option; "1." / "(a)": a part.
      if (line_len == 2 && (c == '.' || c == ')')) {
        if (line_first >= 'a' && line_first <= 'h') {
          ++choices;
          in_choice = true;
        }
        if (line_first >= '1' && line_first <= '9') ++parts;
      }
    }
    if (text_.size() >= kMaxCodePoints) continue;
    if (IsSpace(c)) {
      if (!last_space) text_.push_back(' ');
      last_space = true;
    } else {
      text_.push_back(c);
      last_space = false;
    }
  }

  // Character 3-grams (4-grams as well scored no better in cross-validation, and cost 4 us).
  const std::size_t n = text_.size();
  for (std::size_t i = 0; i + 3 <= n; ++i) {
    const std::uint64_t h =
        Mix(Mix(Mix(0xCBF29CE484222325ull ^ 3, text_[i]), text_[i + 1]), text_[i + 2]);
    out.hashed.push_back(Slot(h));
  }
  // Words and word bigrams; words of other scripts also count by their letters above.
  std::uint64_t previous = 0;
  std::size_t words = 0, word_chars = 0, long_words = 0, numbers = 0;
  for (std::size_t i = 0; i < n;) {
    if (!IsWordChar(text_[i])) {
      ++i;
      continue;
    }
    std::uint64_t h = 0xCBF29CE484222325ull;
    const std::size_t start = i;
    bool all_digits = true;
    while (i < n && IsWordChar(text_[i])) {
      all_digits = all_digits && text_[i] >= '0' && text_[i] <= '9';
      h = Mix(h, text_[i++]);
    }
    const std::size_t len = i - start;
    ++words;
    word_chars += len;
    if (len >= 10) ++long_words;
    if (all_digits) ++numbers;
    out.hashed.push_back(Slot(h));
    if (previous != 0) out.hashed.push_back(Slot(Mix(previous, h ^ 0xB16)));
    previous = h;
  }

  const auto share = [&](std::size_t k) { return total ? static_cast<float>(k) / total : 0.f; };
  const auto squash = [](std::size_t k, float scale) {
    return static_cast<float>(std::log1p(static_cast<double>(k)) / scale);
  };
  out.dense = {squash(total, 8.f),      share(digits) * 4,
               share(operators) * 8,    share(non_ascii),
               squash(lines, 4.f),      squash(code, 3.f),
               squash(choices, 2.f),    squash(questions, 2.f),
               squash(numbers, 3.f),    squash(long_words, 3.f),
               squash(parts, 2.f),      words ? static_cast<float>(word_chars) / words / 10.f : 0.f,
               squash(caps_words, 2.f), choices ? squash(choice_chars / choices, 5.f) : 0.f};
  out.hashed_value =
      out.hashed.empty() ? 0.f : 1.f / std::sqrt(static_cast<float>(out.hashed.size()));
}

}  // namespace partita::scorer
