#include "http/parser.h"

#include <doctest/doctest.h>

#include <string>

namespace partita::http {
namespace {

TEST_CASE("A request head is parsed in place, with its framing") {
  const std::string data =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type:  application/json \r\n"
      "Content-Length: 12\r\nX-Partita-Device: phone-1\r\n\r\n{\"model\":1}x";
  RequestHead head;
  std::string error;
  REQUIRE(ParseRequestHead(data, head, &error) == Parse::kComplete);
  CHECK(head.method == "POST");
  CHECK(head.target == "/v1/chat/completions?x=1");
  CHECK(head.version_minor == 1);
  CHECK(head.header_count == 4);
  CHECK(head.Find("content-type") == "application/json");
  CHECK(head.Find("x-partita-device") == "phone-1");
  CHECK(head.Find("Accept").empty());
  CHECK(head.has_content_length);
  CHECK(head.content_length == 12);
  CHECK_FALSE(head.chunked);
  CHECK(head.keep_alive);
  CHECK_FALSE(head.expect_continue);
  CHECK(data.substr(head.size) == "{\"model\":1}x");
}

TEST_CASE("Every prefix of a head is incomplete, never an error") {
  const std::string data =
      "\r\nGET /health HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-Continue\r\n\r\n";
  for (std::size_t n = 0; n < data.size(); ++n) {
    RequestHead head;
    CAPTURE(n);
    CHECK(ParseRequestHead(std::string_view(data).substr(0, n), head) == Parse::kIncomplete);
  }
  RequestHead head;
  REQUIRE(ParseRequestHead(data, head) == Parse::kComplete);
  CHECK(head.size == data.size());
  CHECK(head.version_minor == 0);
  CHECK(head.keep_alive);  // HTTP/1.0 with Connection: keep-alive
  CHECK(head.expect_continue);
}

TEST_CASE("Keep-alive follows the version and the Connection header") {
  RequestHead head;
  REQUIRE(ParseRequestHead("GET / HTTP/1.1\r\nConnection: Upgrade, close\r\n\r\n", head) ==
          Parse::kComplete);
  CHECK_FALSE(head.keep_alive);
  REQUIRE(ParseRequestHead("GET / HTTP/1.0\r\n\r\n", head) == Parse::kComplete);
  CHECK_FALSE(head.keep_alive);
  REQUIRE(ParseRequestHead("GET / HTTP/1.1\r\n\r\n", head) == Parse::kComplete);
  CHECK(head.keep_alive);
  CHECK(head.header_count == 0);
  // Names and the options that matter are compared in any case.
  REQUIRE(ParseRequestHead("POST / HTTP/1.1\r\nCONNECTION: CLOSE\r\nTRANSFER-ENCODING: "
                           "Chunked\r\n\r\n",
                           head) == Parse::kComplete);
  CHECK_FALSE(head.keep_alive);
  CHECK(head.chunked);
  REQUIRE(ParseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", head) ==
          Parse::kComplete);
  CHECK(head.keep_alive);
}

TEST_CASE("Malformed request heads are errors that name the line") {
  struct Case {
    const char* data;
    const char* error;
  };
  const Case cases[] = {
      {"GET /\r\n\r\n", "line 1: not a request line"},
      {"G(T / HTTP/1.1\r\n\r\n", "line 1: a method with invalid characters"},
      {"G(T ", "line 1: a method with invalid characters"},
      {"GET / HTTP/2.0\r\n\r\n", "line 1: not HTTP/1.x"},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", "line 1: a target with spaces"},
      {"GET / HTTP/1.1\r\nHost gw\r\n\r\n", "line 2: a header without ':'"},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "line 3: obsolete line folding"},
      {"GET / HTTP/1.1\r\nBad Name: a\r\n\r\n", "line 2: a header name with invalid"},
      {"GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", "line 2: a header value with control"},
      // In the second 16-byte block of a value, where it is scanned 16 bytes at a time.
      {"GET / HTTP/1.1\r\nX-Long: 0123456789abcdefghij\x01klmnopqrstuvwxyz\r\n\r\n",
       "line 2: a header value with control"},
      {"GET / HTTP/1.1\r\nA: b\r\nX-Long: 0123456789abcdefghijklmnopqrstu\x7f"
       "vwxyz0123456789\r\n\r\n",
       "line 3: a header value with control"},
      {"GET / HTTP/1.1\r\nX-Long: 0123456789abcdefghij\rABCDEFGHIJKLMNOPQRS\r\n\r\n",
       "line 2: a header value with control"},
      {"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "line 2: a bad Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       "line 3: two different Content-Length"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "line 2: a Transfer-Encoding"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       "line 2: a Transfer-Encoding"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       "line 3: both Content-Length and Transfer-Encoding"},
  };
  for (const Case& c : cases) {
    const std::string data = c.data;
    CAPTURE(data);
    RequestHead head;
    std::string error;
    CHECK(ParseRequestHead(c.data, head, &error) == Parse::kError);
    CAPTURE(error);
    CHECK(error.starts_with(c.error));
  }
  std::string many = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i <= kMaxHeaders; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  RequestHead head;
  std::string error;
  CHECK(ParseRequestHead(many + "\r\n", head, &error) == Parse::kError);
  CHECK(error.find("more than 64 headers") != std::string::npos);
}

TEST_CASE("A response head is parsed with its status and framing") {
  ResponseHead head;
  std::string error;
  REQUIRE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n5\r\n",
                            head, &error) == Parse::kComplete);
  CHECK(head.status == 200);
  CHECK(head.reason == "OK");
  CHECK(head.chunked);
  CHECK(head.Find("CONTENT-TYPE") == "text/event-stream");
  REQUIRE(ParseResponseHead("HTTP/1.0 503\r\n\r\n", head) == Parse::kComplete);
  CHECK(head.status == 503);
  CHECK(head.reason.empty());
  CHECK_FALSE(head.keep_alive);
  CHECK_FALSE(head.has_content_length);
  CHECK(ParseResponseHead("HTTP/1.1 20", head) == Parse::kIncomplete);
  CHECK(ParseResponseHead("SSH-2.0-OpenSSH\r\n", head, &error) == Parse::kError);
  CHECK(ParseResponseHead("HTTP/1.1 2x0 OK\r\n\r\n", head, &error) == Parse::kError);
  CHECK(error == "line 1: a status code that is not three digits");
  CHECK(ParseResponseHead("HTTP/1.1 200OK\r\n\r\n", head, &error) == Parse::kError);
}

// Feeds `wire` to a decoder in pieces of `piece` bytes while it needs more.
struct Fed {
  ChunkedDecoder decoder;
  ChunkedDecoder::Result result = ChunkedDecoder::Result::kNeedMore;
  std::string body;
  std::size_t consumed = 0;
};
Fed FeedInPieces(std::string_view wire, std::size_t piece) {
  Fed f;
  while (f.result == ChunkedDecoder::Result::kNeedMore && f.consumed < wire.size()) {
    std::size_t used = 0;
    const std::string_view in = wire.substr(f.consumed, piece);
    f.result = f.decoder.Decode(in, f.body, used);
    f.consumed += used;
    if (f.result == ChunkedDecoder::Result::kNeedMore) CHECK(used == in.size());
  }
  return f;
}

TEST_CASE("A chunked body decodes the same whatever the pieces it arrives in") {
  const std::string wire =
      "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (std::size_t piece = 1; piece <= wire.size(); ++piece) {
    CAPTURE(piece);
    const Fed f = FeedInPieces(wire, piece);
    REQUIRE(f.result == ChunkedDecoder::Result::kDone);
    CHECK(f.body == "helloabcdefghijklmnopqrstuvwxyz");
    CHECK(f.decoder.body_bytes() == 31);
    CHECK(wire.substr(f.consumed) == "NEXT");
  }
}

TEST_CASE("Bad chunked bodies are errors") {
  for (const char* wire : {"zz\r\n", "5\r\nhelloX\r\n", "5\nhello\r\n", "\r\n",
                           "1234567890abcdef0\r\n", "0\r\nTrailer\n"}) {
    CAPTURE(wire);
    ChunkedDecoder decoder;
    std::string out;
    std::size_t used = 0;
    CHECK(decoder.Decode(wire, out, used) == ChunkedDecoder::Result::kError);
    CHECK(decoder.error().starts_with("bad chunked body: "));
  }
}

// A line over the limit fails whether it arrives whole or in pieces: the fuzzer found a size
// line that was refused in pieces but taken whole.
TEST_CASE("A chunk line too long fails whole and in pieces alike") {
  const std::string long_ext(1100, 'x');
  for (const std::string& wire :
       {"5;" + long_ext + "\r\nhello\r\n0\r\n\r\n", "0\r\nX-Trailer: " + long_ext + "\r\n\r\n"}) {
    for (const std::size_t piece : {wire.size(), std::size_t{7}}) {
      CAPTURE(piece);
      const Fed f = FeedInPieces(wire, piece);
      CHECK(f.result == ChunkedDecoder::Result::kError);
      CHECK(f.decoder.error().ends_with("too long"));
    }
  }
}

TEST_CASE("At most 64 trailer lines") {
  std::string trailers;
  for (int i = 0; i < 64; ++i) trailers += "X-T" + std::to_string(i) + ": v\r\n";
  for (const int extra : {0, 1}) {
    CAPTURE(extra);
    const std::string wire = "0\r\n" + trailers + (extra != 0 ? "X-Last: v\r\n" : "") + "\r\n";
    const Fed f = FeedInPieces(wire, 5);
    CHECK(f.result ==
          (extra == 0 ? ChunkedDecoder::Result::kDone : ChunkedDecoder::Result::kError));
    if (extra != 0) CHECK(f.decoder.error().ends_with("more than 64 trailer lines"));
  }
}

TEST_CASE("A read buffer erases bytes in the middle and keeps what follows") {
  ReadBuffer buffer;
  const std::string_view wire = "HEAD|5\r\nhello\r\n|NEXT";
  const std::span<char> space = buffer.Prepare(wire.size());
  std::copy(wire.begin(), wire.end(), space.begin());
  buffer.Commit(wire.size());
  buffer.Consume(1);
  buffer.Erase(4, 11);  // "5\r\nhello\r\n|" after "EAD|"
  CHECK(buffer.data() == "EAD|NEXT");
  buffer.Erase(6, 100);  // clipped at the end
  CHECK(buffer.data() == "EAD|NE");
  buffer.Erase(10, 1);  // past the end: nothing
  CHECK(buffer.data() == "EAD|NE");
}

}  // namespace
}  // namespace partita::http
