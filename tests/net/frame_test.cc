#include "net/frame.h"

#include <doctest/doctest.h>

#include <cstring>

namespace partita::net {
namespace {

v1::Envelope MakeHeartbeat(std::uint64_t seq) {
  v1::Envelope e;
  e.mutable_heartbeat()->set_seq(seq);
  e.mutable_heartbeat()->mutable_state()->set_battery_pct(42.5f);
  return e;
}

// Feeds `bytes` to the reader in chunks of `chunk` bytes, collecting decoded frames.
FrameError FeedChunks(FrameReader& reader, const std::string& bytes, std::size_t chunk,
                      std::vector<v1::Envelope>& out) {
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t n = std::min(chunk, bytes.size() - offset);
    auto space = reader.Prepare(n);
    std::memcpy(space.data(), bytes.data() + offset, n);
    reader.Commit(n);
    offset += n;
    for (;;) {
      v1::Envelope e;
      const FrameError err = reader.Next(e);
      if (err == FrameError::kNeedMore) break;
      if (err != FrameError::kOk) return err;
      out.push_back(std::move(e));
    }
  }
  return FrameError::kOk;
}

TEST_CASE("A frame announced as large costs what has arrived, not what it announced") {
  // A valid frame of about 1 MiB (a heartbeat carrying many model names).
  v1::Envelope big;
  while (big.ByteSizeLong() < 1000 * 1024) {
    big.mutable_heartbeat()->mutable_state()->add_models(std::string(1000, 'm'));
  }
  const std::string frame = EncodeFrame(big);
  FrameReader reader(2u << 20);
  auto space = reader.Prepare(1004);
  std::memcpy(space.data(), frame.data(), 1004);  // the length prefix and 1,000 bytes
  reader.Commit(1004);
  v1::Envelope out;
  CHECK(reader.Next(out) == FrameError::kNeedMore);
  CHECK(reader.pending_length() == frame.size() - 4);
  CHECK(reader.capacity() < 64 * 1024);
  // The rest, in reads of the usual size: it still decodes, and memory stays within twice
  // what arrived.
  std::size_t at = 1004;
  while (at < frame.size()) {
    const std::size_t n = std::min<std::size_t>(16 * 1024, frame.size() - at);
    space = reader.Prepare(16 * 1024);
    std::memcpy(space.data(), frame.data() + at, n);
    reader.Commit(n);
    at += n;
    CHECK(reader.capacity() <= 2 * at + 32 * 1024);
  }
  REQUIRE(reader.Next(out) == FrameError::kOk);
  CHECK(out.heartbeat().state().models_size() == big.heartbeat().state().models_size());
}

TEST_CASE("A frame is a 4-byte big-endian length and the serialized Envelope") {
  const v1::Envelope e = MakeHeartbeat(7);
  const std::string frame = EncodeFrame(e);
  const std::size_t payload = e.ByteSizeLong();
  REQUIRE(frame.size() == 4 + payload);
  CHECK(static_cast<unsigned char>(frame[0]) == ((payload >> 24) & 0xff));
  CHECK(static_cast<unsigned char>(frame[3]) == (payload & 0xff));
  v1::Envelope decoded;
  std::size_t consumed = 0;
  REQUIRE(DecodeFrame({reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()}, decoded,
                      consumed) == FrameError::kOk);
  CHECK(consumed == frame.size());
  CHECK(decoded.heartbeat().seq() == 7);
  CHECK(decoded.heartbeat().state().battery_pct() == doctest::Approx(42.5));
}

TEST_CASE("FrameReader reassembles frames split at every byte boundary") {
  std::string stream;
  for (std::uint64_t i = 0; i < 20; ++i) AppendFrame(MakeHeartbeat(i), stream);
  for (std::size_t chunk : {1, 2, 3, 7, 64, 100000}) {
    FrameReader reader;
    std::vector<v1::Envelope> frames;
    REQUIRE(FeedChunks(reader, stream, chunk, frames) == FrameError::kOk);
    REQUIRE(frames.size() == 20);
    for (std::uint64_t i = 0; i < 20; ++i) CHECK(frames[i].heartbeat().seq() == i);
    CHECK(reader.buffered() == 0);
  }
}

TEST_CASE("An oversize length prefix is refused before any allocation") {
  FrameReader reader(1024);
  const unsigned char header[4] = {0x7f, 0xff, 0xff, 0xff};  // ~2 GiB
  auto space = reader.Prepare(4);
  std::memcpy(space.data(), header, 4);
  reader.Commit(4);
  v1::Envelope e;
  CHECK(reader.Next(e) == FrameError::kOversize);
  CHECK(reader.pending_length() == 0x7fffffffu);
  CHECK(reader.buffered() == 4);  // nothing grew toward 2 GiB
}

TEST_CASE("The size limit is inclusive and configurable") {
  v1::Envelope e;
  e.mutable_error()->set_message(std::string(100, 'x'));
  const std::string frame = EncodeFrame(e);
  const std::uint32_t payload = static_cast<std::uint32_t>(frame.size() - 4);
  v1::Envelope out;
  std::size_t consumed = 0;
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(frame.data()),
                                      frame.size());
  CHECK(DecodeFrame(bytes, out, consumed, payload) == FrameError::kOk);
  CHECK(DecodeFrame(bytes, out, consumed, payload - 1) == FrameError::kOversize);
  std::string too_big;
  CHECK_FALSE(AppendFrame(e, too_big, payload - 1));
  CHECK(too_big.empty());
}

TEST_CASE("Garbage and empty payloads are undecodable, not crashes") {
  const std::string garbage = std::string("\x00\x00\x00\x05", 4) + "\xff\xff\xff\xff\xff";
  FrameReader reader;
  std::vector<v1::Envelope> frames;
  CHECK(FeedChunks(reader, garbage, 3, frames) == FrameError::kUndecodable);
  // A well-formed but empty Envelope carries no message: also refused.
  FrameReader reader2;
  CHECK(FeedChunks(reader2, std::string("\x00\x00\x00\x00", 4), 4, frames) ==
        FrameError::kUndecodable);
  CHECK(frames.empty());
}

TEST_CASE("Frame errors are error_codes with readable messages") {
  boost::system::error_code ec = FrameError::kOversize;
  CHECK(ec.category().name() == std::string("partita.frame"));
  CHECK(ec.message() == "frame larger than the limit");
}

}  // namespace
}  // namespace partita::net
