// Fuzzes the SSE parser two ways: the whole input at once, and fed in pieces whose sizes come
// from the input. Invariants: no crash, limits hold, and both ways yield the same events (or
// both fail). Each event's data also goes through the OpenAI chunk interpreter, and the whole
// input through the request and completion readers.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/openai.h"
#include "backends/sse_parser.h"
#include "fuzz/piecewise_input.h"

namespace {

struct Run {
  std::vector<partita::backends::SseEvent> events;
  bool failed = false;
};

Run Parse(const partita::fuzz::PiecewiseInput& input, bool whole) {
  partita::backends::SseLimits limits;
  limits.max_line_bytes = 4096;
  limits.max_event_bytes = 8192;
  limits.max_queued_events = 64;
  partita::backends::SseParser parser(limits);
  Run run;
  auto drain = [&] {
    partita::backends::SseEvent e;
    while (parser.Next(e)) {
      if (e.data.size() > limits.max_event_bytes) __builtin_trap();
      run.events.push_back(e);
    }
  };
  input.Feed(whole, 64, [&](std::string_view piece) {
    run.failed = !parser.Feed(piece);
    drain();  // take events as they come, as a client does
    return !run.failed;
  });
  if (!run.failed) run.failed = !parser.Finish();
  drain();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const partita::fuzz::PiecewiseInput input(data, size);
  const std::string_view text = input.text();

  const Run whole = Parse(input, true);
  const Run pieces = Parse(input, false);
  // Without a failure both ways must agree exactly. (A queue limit may trip in one way and not
  // the other, because the incremental run drains between reads.)
  if (!whole.failed && !pieces.failed) {
    if (whole.events.size() != pieces.events.size()) __builtin_trap();
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
      const auto& a = whole.events[i];
      const auto& b = pieces.events[i];
      if (a.data != b.data || a.event != b.event || a.id != b.id) __builtin_trap();
    }
  }
  partita::backends::ChunkInfo info;
  std::string why;
  for (const auto& e : pieces.events) partita::backends::ParseStreamChunk(e.data, info, &why);
  // The same JSON readers the gateway runs on request and response bodies.
  (void)partita::backends::InspectChatRequest(text);
  (void)partita::backends::ParseCompletion(text);
  return 0;
}
