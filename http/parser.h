// HTTP/1.1 message heads and chunked bodies, parsed in place: Partita's one HTTP parser. Every
// request and response the project reads goes through these (the gateway and the chat client
// directly, modeld, the ops ports and the health check through http/io.h), by RFC 9112,
// strictly: CRLF line ends, no obsolete line folding, one Content-Length, not both
// Content-Length and Transfer-Encoding.
//
// Nothing is allocated or copied: a parsed head's strings point into the bytes it was parsed
// from, which the caller keeps unchanged while it uses them. Errors name the line and what is
// wrong with it. Pure functions and plain values; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace partita::http {

struct Header {
  std::string_view name;
  std::string_view value;  // without surrounding spaces
};

inline constexpr std::size_t kMaxHeaders = 64;

// What a request head and a response head have in common.
struct MessageHead {
  int version_minor = 1;  // HTTP/1.<version_minor>
  std::array<Header, kMaxHeaders> headers;
  std::size_t header_count = 0;
  // Body framing: chunked, a Content-Length, or neither (requests: no body; responses: until
  // the connection closes).
  bool chunked = false;
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  // The connection stays open after this message (the version and the Connection header).
  bool keep_alive = true;
  std::size_t size = 0;  // bytes of the head, the blank line included

  // The first header called `name` (any case), or "" when there is none.
  std::string_view Find(std::string_view name) const;
};

struct RequestHead : MessageHead {
  std::string_view method;
  std::string_view target;
  bool expect_continue = false;  // "Expect: 100-continue"
};

struct ResponseHead : MessageHead {
  int status = 0;
  std::string_view reason;
};

enum class Parse : std::uint8_t {
  kIncomplete,  // no blank line yet: read more (the caller bounds the head's size)
  kComplete,    // the head is parsed; its body starts at head.size
  kError,       // not a valid head: `error` says which line and why
};

// Parses the head at the start of `data`. On kError, `error` (when not null) says what is wrong.
Parse ParseRequestHead(std::string_view data, RequestHead& head, std::string* error = nullptr);
Parse ParseResponseHead(std::string_view data, ResponseHead& head, std::string* error = nullptr);

// Decodes a chunked body incrementally: feed it bytes as they arrive, in any pieces.
class ChunkedDecoder {
 public:
  enum class Result : std::uint8_t { kNeedMore, kDone, kError };

  // Consumes bytes from the start of `in` and appends the body's data to `out`. `consumed` is
  // how many bytes of `in` it used: on kDone, what follows belongs to the next message; on
  // kNeedMore, all of it.
  Result Decode(std::string_view in, std::string& out, std::size_t& consumed);
  const std::string& error() const { return error_; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  void Reset() { *this = ChunkedDecoder(); }

 private:
  enum class State : std::uint8_t { kSize, kData, kDataEnd, kTrailer, kDone, kError };
  Result Fail(std::string why);

  State state_ = State::kSize;
  std::string line_;  // a size or trailer line split across reads (bounded)
  std::uint64_t remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::size_t trailer_lines_ = 0;
  std::string error_;
};

// Bytes received and not yet consumed, with room to receive more: what a connection parses
// heads and bodies from. Views from data() stay valid until the next Prepare().
class ReadBuffer {
 public:
  std::string_view data() const { return {bytes_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  // Room for `n` more bytes after data(): unread bytes move to the front, or the buffer grows.
  std::span<char> Prepare(std::size_t n);
  // `n` bytes were written at the start of the last Prepare().
  void Commit(std::size_t n) { end_ += n; }
  void Consume(std::size_t n);
  // Removes `n` bytes at `offset` into data(); the bytes after them move down.
  void Erase(std::size_t offset, std::size_t n);
  void Clear() { begin_ = end_ = 0; }

 private:
  std::unique_ptr<char[]> bytes_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace partita::http
