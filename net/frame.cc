#include "net/frame.h"

#include <algorithm>
#include <cstring>

namespace partita::net {

namespace {

class FrameCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "partita.frame"; }
  std::string message(int ev) const override { return FrameErrorName(static_cast<FrameError>(ev)); }
};

constexpr std::size_t kShrinkAboveBytes = 256 * 1024;

std::uint32_t ReadBigEndian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

FrameError ParsePayload(const std::uint8_t* data, std::uint32_t length, v1::Envelope& out) {
  out.Clear();
  if (!out.ParseFromArray(data, static_cast<int>(length))) return FrameError::kUndecodable;
  if (out.body_case() == v1::Envelope::BODY_NOT_SET) return FrameError::kUndecodable;
  return FrameError::kOk;
}

}  // namespace

const boost::system::error_category& FrameErrorCategory() {
  static const FrameCategory category;
  return category;
}

boost::system::error_code make_error_code(FrameError e) {
  return {static_cast<int>(e), FrameErrorCategory()};
}

const char* FrameErrorName(FrameError e) {
  switch (e) {
    case FrameError::kOk: return "ok";
    case FrameError::kNeedMore: return "incomplete frame";
    case FrameError::kOversize: return "frame larger than the limit";
    case FrameError::kUndecodable: return "undecodable frame";
    case FrameError::kTruncated: return "stream ended inside a frame";
  }
  return "unknown frame error";
}

bool AppendFrame(const v1::Envelope& envelope, std::string& out, std::uint32_t max_bytes) {
  const std::size_t size = envelope.ByteSizeLong();
  if (size > max_bytes) return false;
  const std::size_t offset = out.size();
  out.resize(offset + kFrameHeaderBytes + size);
  auto* p = reinterpret_cast<std::uint8_t*>(out.data() + offset);
  p[0] = static_cast<std::uint8_t>(size >> 24);
  p[1] = static_cast<std::uint8_t>(size >> 16);
  p[2] = static_cast<std::uint8_t>(size >> 8);
  p[3] = static_cast<std::uint8_t>(size);
  envelope.SerializeWithCachedSizesToArray(p + kFrameHeaderBytes);
  return true;
}

std::string EncodeFrame(const v1::Envelope& envelope) {
  std::string out;
  AppendFrame(envelope, out, UINT32_MAX);
  return out;
}

FrameError DecodeFrame(std::span<const std::uint8_t> bytes, v1::Envelope& out,
                       std::size_t& consumed, std::uint32_t max_bytes) {
  consumed = 0;
  if (bytes.size() < kFrameHeaderBytes) return FrameError::kNeedMore;
  const std::uint32_t length = ReadBigEndian32(bytes.data());
  if (length > max_bytes) return FrameError::kOversize;
  if (bytes.size() - kFrameHeaderBytes < length) return FrameError::kNeedMore;
  const FrameError e = ParsePayload(bytes.data() + kFrameHeaderBytes, length, out);
  if (e == FrameError::kOk) consumed = kFrameHeaderBytes + length;
  return e;
}

FrameReader::FrameReader(std::uint32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

std::span<std::uint8_t> FrameReader::Prepare(std::size_t min_bytes) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // Give back the memory of a large frame once it has been consumed.
    if (buffer_.size() > kShrinkAboveBytes) {
      buffer_.resize(min_bytes);
      buffer_.shrink_to_fit();
    }
  }
  if (buffer_.size() - end_ < min_bytes) {
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buffer_.size() - end_ < min_bytes) {
      // Grow with what has arrived, never ahead of it: a frame announced as large but not sent
      // does not cost its announced size.
      std::vector<std::uint8_t> bigger(end_ + std::max(min_bytes, end_));
      if (end_ > 0) std::memcpy(bigger.data(), buffer_.data(), end_);
      buffer_.swap(bigger);
    }
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

FrameError FrameReader::Next(v1::Envelope& out) {
  std::size_t consumed = 0;
  const FrameError e =
      DecodeFrame(std::span<const std::uint8_t>(buffer_.data() + begin_, end_ - begin_), out,
                  consumed, max_frame_bytes_);
  if (e == FrameError::kOk) begin_ += consumed;
  return e;
}

std::uint32_t FrameReader::pending_length() const {
  if (end_ - begin_ < kFrameHeaderBytes) return 0;
  return ReadBigEndian32(buffer_.data() + begin_);
}

}  // namespace partita::net
