// Length-prefixed protobuf framing: a 4-byte big-endian length, then one serialized Envelope.
//
// FrameReader is the incremental decoder every connection uses. It checks the declared length
// against the limit before allocating anything, and grows its buffer only as bytes arrive (at
// most doubling what it holds), so a peer that announces a large frame and sends little costs
// little memory. It reports problems as typed FrameErrors (also usable as
// boost::system::error_code) instead of throwing. A FrameReader belongs to one connection and is
// not thread-safe.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/partita.pb.h"

namespace partita::net {

inline constexpr std::size_t kFrameHeaderBytes = 4;
inline constexpr std::uint32_t kDefaultMaxFrameBytes = 1u << 20;  // 1 MiB

enum class FrameError {
  kOk = 0,
  kNeedMore,     // not a failure: the buffer holds only part of a frame
  kOversize,     // the length prefix exceeds the limit
  kUndecodable,  // the payload is not a valid Envelope (or carries no message)
  kTruncated,    // the stream ended inside a frame
};

const boost::system::error_category& FrameErrorCategory();
boost::system::error_code make_error_code(FrameError e);
const char* FrameErrorName(FrameError e);

// Appends the frame for `envelope` to `out`. Returns false if the message exceeds `max_bytes`.
bool AppendFrame(const v1::Envelope& envelope, std::string& out,
                 std::uint32_t max_bytes = kDefaultMaxFrameBytes);
std::string EncodeFrame(const v1::Envelope& envelope);

// Decodes one frame from the start of `bytes` (a complete buffer, e.g. a fuzzer input).
// On kOk, `consumed` is the frame's size including the header.
FrameError DecodeFrame(std::span<const std::uint8_t> bytes, v1::Envelope& out,
                       std::size_t& consumed, std::uint32_t max_bytes = kDefaultMaxFrameBytes);

// Incremental decoder over a growable buffer: write received bytes into Prepare(), Commit()
// them, then call Next() until it returns kNeedMore.
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

  // A writable region of at least `min_bytes` bytes at the end of the buffered data. When the
  // buffer must grow, it grows by the larger of `min_bytes` and what it holds (doubling).
  std::span<std::uint8_t> Prepare(std::size_t min_bytes = 16 * 1024);
  void Commit(std::size_t n) { end_ += n; }

  // Decodes the next complete frame. kNeedMore when more bytes are needed. Any other error is
  // fatal for the connection: the stream cannot be resynchronised.
  FrameError Next(v1::Envelope& out);

  // The declared length of the frame being assembled (0 when no header yet), for logs.
  std::uint32_t pending_length() const;
  std::size_t buffered() const { return end_ - begin_; }
  std::uint32_t max_frame_bytes() const { return max_frame_bytes_; }
  // Bytes of buffer memory held now (for tests and accounting).
  std::size_t capacity() const { return buffer_.capacity(); }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint32_t max_frame_bytes_;
};

}  // namespace partita::net

namespace boost::system {
template <>
struct is_error_code_enum<partita::net::FrameError> : std::true_type {};
}  // namespace boost::system
