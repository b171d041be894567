// Fuzzes the HTTP/1.1 head parsers and the chunked decoder (backends/http1.h), which read what
// devices send to the gateway and what upstreams answer. Invariants: no crash; a complete head
// lies inside the input and every view points into it; the chunked decoder yields the same
// body whatever the sizes of the pieces it is fed (sizes come from the input), and never
// consumes more than it was given.
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/http1.h"
#include "fuzz/piecewise_input.h"

namespace http1 = partita::backends::http1;

namespace {

bool Inside(std::string_view view, std::string_view whole) {
  return view.empty() ||
         (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size());
}

void CheckHead(const http1::MessageHead& head, std::string_view text) {
  if (head.size == 0 || head.size > text.size()) __builtin_trap();
  if (head.header_count > http1::kMaxHeaders) __builtin_trap();
  for (std::size_t i = 0; i < head.header_count; ++i) {
    if (head.headers[i].name.empty() || !Inside(head.headers[i].name, text) ||
        !Inside(head.headers[i].value, text)) {
      __builtin_trap();
    }
  }
  if (head.chunked && head.has_content_length) __builtin_trap();
}

struct Decoded {
  std::string body;
  http1::ChunkedDecoder::Result result = http1::ChunkedDecoder::Result::kNeedMore;
  std::size_t consumed = 0;
};

Decoded Decode(const partita::fuzz::PiecewiseInput& input, bool whole) {
  http1::ChunkedDecoder decoder;
  Decoded out;
  input.Feed(whole, 32, [&](std::string_view piece) {
    std::size_t used = 0;
    out.result = decoder.Decode(piece, out.body, used);
    if (used > piece.size()) __builtin_trap();
    if (out.result == http1::ChunkedDecoder::Result::kNeedMore && used != piece.size()) {
      __builtin_trap();
    }
    out.consumed += used;
    return out.result == http1::ChunkedDecoder::Result::kNeedMore;
  });
  if (decoder.body_bytes() != out.body.size()) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const partita::fuzz::PiecewiseInput input(data, size);
  const std::string_view text = input.text();

  http1::RequestHead request;
  std::string error;
  if (http1::ParseRequestHead(text, request, &error) == http1::Parse::kComplete) {
    CheckHead(request, text);
    if (!Inside(request.method, text) || !Inside(request.target, text)) __builtin_trap();
    if (request.method.empty() || request.target.empty()) __builtin_trap();
  }
  http1::ResponseHead response;
  if (http1::ParseResponseHead(text, response, &error) == http1::Parse::kComplete) {
    CheckHead(response, text);
    if (response.status < 100 || response.status > 999) __builtin_trap();
  }

  const Decoded whole = Decode(input, true);
  const Decoded pieces = Decode(input, false);
  if (whole.result != pieces.result) __builtin_trap();
  if (whole.result == http1::ChunkedDecoder::Result::kDone &&
      (whole.body != pieces.body || whole.consumed != pieces.consumed)) {
    __builtin_trap();
  }
  return 0;
}
