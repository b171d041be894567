// A stream for unit tests and fuzzers of code that reads from a socket: it hands out its input
// in the given pieces, one piece per read (then the end of the stream), and keeps what is
// written to it, so every way a message can be split across reads can be tried. Completions are
// posted to the io_context given, as a socket's are. One thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace partita::testing {

class PieceStream {
 public:
  using executor_type = boost::asio::any_io_executor;

  PieceStream(boost::asio::io_context& io, std::vector<std::string> pieces)
      : executor_(io.get_executor()), pieces_(std::move(pieces)) {}

  executor_type get_executor() { return executor_; }
  const std::string& written() const { return written_; }
  std::size_t reads() const { return reads_; }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          ++reads_;
          boost::system::error_code ec;
          std::size_t n = 0;
          if (next_ == pieces_.size()) {
            ec = boost::asio::error::eof;
          } else {
            const std::string_view rest = std::string_view(pieces_[next_]).substr(offset_);
            n = boost::asio::buffer_copy(b, boost::asio::buffer(rest.data(), rest.size()));
            offset_ += n;
            if (offset_ == pieces_[next_].size()) {
              ++next_;
              offset_ = 0;
            }
          }
          boost::asio::post(executor_, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
        },
        token, buffers);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          std::size_t n = 0;
          for (auto it = boost::asio::buffer_sequence_begin(b);
               it != boost::asio::buffer_sequence_end(b); ++it) {
            written_.append(static_cast<const char*>((*it).data()), (*it).size());
            n += (*it).size();
          }
          boost::asio::post(executor_, [h = std::move(handler), n]() mutable { h({}, n); });
        },
        token, buffers);
  }

 private:
  executor_type executor_;
  std::vector<std::string> pieces_;
  std::size_t next_ = 0;
  std::size_t offset_ = 0;
  std::size_t reads_ = 0;
  std::string written_;
};

}  // namespace partita::testing
