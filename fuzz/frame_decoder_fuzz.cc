// Fuzzes the frame decoder two ways: a whole buffer at once, and the incremental reader fed in
// chunks whose sizes come from the input. Invariant: no crash, no allocation beyond the limit,
// and the incremental reader decodes exactly what the one-shot decoder does.
#include <cstdint>
#include <cstring>

#include "net/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using partita::net::FrameError;
  constexpr std::uint32_t kLimit = 64 * 1024;

  partita::v1::Envelope one_shot;
  std::size_t consumed = 0;
  std::size_t offset = 0;
  int one_shot_frames = 0;
  while (offset < size) {
    const FrameError e =
        partita::net::DecodeFrame({data + offset, size - offset}, one_shot, consumed, kLimit);
    if (e != FrameError::kOk) break;
    offset += consumed;
    ++one_shot_frames;
  }

  partita::net::FrameReader reader(kLimit);
  std::size_t fed = 0;
  int incremental_frames = 0;
  std::size_t chunk = size > 0 ? (data[0] % 17) + 1 : 1;
  while (fed < size) {
    const std::size_t n = std::min(chunk, size - fed);
    auto space = reader.Prepare(n);
    std::memcpy(space.data(), data + fed, n);
    reader.Commit(n);
    fed += n;
    partita::v1::Envelope e;
    FrameError err;
    while ((err = reader.Next(e)) == FrameError::kOk) ++incremental_frames;
    if (err != FrameError::kNeedMore) break;
  }
  if (incremental_frames != one_shot_frames) __builtin_trap();
  if (one_shot_frames > 0) {
    std::string re;
    partita::net::AppendFrame(one_shot, re, kLimit);
  }
  return 0;
}
