// How the incremental fuzz targets read their input: the first byte says how many of the next
// bytes (0-7) are piece sizes, and the rest is the text, which a target parses whole and again
// fed in pieces of those sizes, to check that both ways agree.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace partita::fuzz {

class PiecewiseInput {
 public:
  // `size` must be at least 1.
  PiecewiseInput(const std::uint8_t* data, std::size_t size)
      : sizes_(data + 1, std::min<std::size_t>(data[0] % 8, size - 1)),
        text_(reinterpret_cast<const char*>(data + 1 + sizes_.size()), size - 1 - sizes_.size()) {}

  std::string_view text() const { return text_; }

  // Yields the text in pieces of 1..max_piece bytes, cycling through the sizes; with `whole`
  // (or no sizes), in one piece. `feed(piece)` returns false to stop early.
  template <typename Feed>
  void Feed(bool whole, std::size_t max_piece, Feed&& feed) const {
    std::size_t at = 0;
    for (std::size_t i = 0; at < text_.size(); ++i) {
      std::size_t piece =
          whole || sizes_.empty() ? text_.size() : sizes_[i % sizes_.size()] % max_piece + 1;
      piece = std::min(piece, text_.size() - at);
      if (!feed(text_.substr(at, piece))) return;
      at += piece;
    }
  }

 private:
  std::span<const std::uint8_t> sizes_;
  std::string_view text_;
};

}  // namespace partita::fuzz
