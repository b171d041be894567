// Fuzzes the HTTP/1.1 head parsers and the chunked decoder (http/parser.h), which read what
// devices send to the gateway and what upstreams answer, and the whole-message reader
// (http/io.h) that modeld, the ops ports and the health check use. Invariants: no crash; a
// complete head lies inside the input and every view points into it; the chunked decoder and
// the message reader give the same results whatever the sizes of the pieces the bytes arrive
// in (sizes come from the input); the decoder never consumes more than it was given, and no
// body read is larger than its limit.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/piecewise_input.h"
#include "http/io.h"
#include "http/parser.h"
#include "tests/testing/piece_stream.h"

namespace http = partita::http;

namespace {

bool Inside(std::string_view view, std::string_view whole) {
  return view.empty() ||
         (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size());
}

void CheckHead(const http::MessageHead& head, std::string_view text) {
  if (head.size == 0 || head.size > text.size()) __builtin_trap();
  if (head.header_count > http::kMaxHeaders) __builtin_trap();
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
  http::ChunkedDecoder::Result result = http::ChunkedDecoder::Result::kNeedMore;
  std::size_t consumed = 0;
};

Decoded Decode(const partita::fuzz::PiecewiseInput& input, bool whole) {
  http::ChunkedDecoder decoder;
  Decoded out;
  input.Feed(whole, 32, [&](std::string_view piece) {
    std::size_t used = 0;
    out.result = decoder.Decode(piece, out.body, used);
    if (used > piece.size()) __builtin_trap();
    if (out.result == http::ChunkedDecoder::Result::kNeedMore && used != piece.size()) {
      __builtin_trap();
    }
    out.consumed += used;
    return out.result == http::ChunkedDecoder::Result::kNeedMore;
  });
  if (decoder.body_bytes() != out.body.size()) __builtin_trap();
  return out;
}

constexpr http::Limits kLimits{512, 256};

// What the message reader makes of the text arriving in pieces: each request's status, target
// and body, up to 4 requests.
std::string ReadRequests(const partita::fuzz::PiecewiseInput& input, bool whole) {
  std::vector<std::string> pieces;
  input.Feed(whole, 64, [&](std::string_view piece) {
    pieces.emplace_back(piece);
    return true;
  });
  boost::asio::io_context io;
  partita::testing::PieceStream stream(io, std::move(pieces));
  std::string summary;
  boost::asio::co_spawn(
      io,
      [](partita::testing::PieceStream& s, std::string& out) -> boost::asio::awaitable<void> {
        http::ReadBuffer buffer;
        http::Request request;
        for (int i = 0; i < 4; ++i) {
          const http::ReadResult r = co_await http::ReadRequest(s, buffer, request, kLimits);
          out += std::to_string(static_cast<int>(r.status)) + "|";
          if (r.status != http::ReadStatus::kOk) break;
          if (request.body.size() > kLimits.max_body_bytes) __builtin_trap();
          out.append(request.head.target).append("|").append(request.body).append("|");
        }
      }(stream, summary),
      boost::asio::detached);
  io.run();
  return summary;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const partita::fuzz::PiecewiseInput input(data, size);
  const std::string_view text = input.text();

  http::RequestHead request;
  std::string error;
  if (http::ParseRequestHead(text, request, &error) == http::Parse::kComplete) {
    CheckHead(request, text);
    if (!Inside(request.method, text) || !Inside(request.target, text)) __builtin_trap();
    if (request.method.empty() || request.target.empty()) __builtin_trap();
  }
  http::ResponseHead response;
  if (http::ParseResponseHead(text, response, &error) == http::Parse::kComplete) {
    CheckHead(response, text);
    if (response.status < 100 || response.status > 999) __builtin_trap();
  }

  const Decoded whole = Decode(input, true);
  const Decoded pieces = Decode(input, false);
  if (whole.result != pieces.result) __builtin_trap();
  if (whole.result == http::ChunkedDecoder::Result::kDone &&
      (whole.body != pieces.body || whole.consumed != pieces.consumed)) {
    __builtin_trap();
  }
  if (ReadRequests(input, true) != ReadRequests(input, false)) __builtin_trap();
  return 0;
}
