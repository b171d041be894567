#include "http/io.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/testing/io_thread.h"
#include "tests/testing/piece_stream.h"

namespace partita::http {
namespace {

using testing::PieceStream;

std::vector<std::string> Bytes(std::string_view text, std::size_t piece) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size(); i += piece) out.emplace_back(text.substr(i, piece));
  return out;
}

struct Read {
  ReadStatus status;
  std::string error;
  std::string method, target, body;
  int status_code = 0;
  bool keep_alive = false;
};

asio::awaitable<std::vector<Read>> ReadRequests(PieceStream& stream, Limits limits, int count) {
  ReadBuffer buffer;
  Request request;
  std::vector<Read> out;
  for (int i = 0; i < count; ++i) {
    const ReadResult r = co_await ReadRequest(stream, buffer, request, limits);
    out.push_back({r.status, r.error, std::string(request.head.method),
                   std::string(request.head.target), request.body, 0, request.head.keep_alive});
    if (r.status != ReadStatus::kOk) break;
  }
  co_return out;
}

asio::awaitable<Read> ReadOneResponse(PieceStream& stream, Limits limits) {
  ReadBuffer buffer;
  Response response;
  const ReadResult r = co_await ReadResponse(stream, buffer, response, limits);
  co_return Read{
      r.status, r.error, "", "", response.body, response.head.status, response.head.keep_alive};
}

std::vector<Read> RequestsFrom(std::vector<std::string> pieces, int count, Limits limits = {},
                               std::string* written = nullptr) {
  asio::io_context io;
  PieceStream stream(io, std::move(pieces));
  std::vector<Read> reads = testing::RunCoroutine(io, ReadRequests(stream, limits, count));
  if (written != nullptr) *written = stream.written();
  return reads;
}

Read ResponseFrom(std::vector<std::string> pieces, Limits limits = {}) {
  asio::io_context io;
  PieceStream stream(io, std::move(pieces));
  return testing::RunCoroutine(io, ReadOneResponse(stream, limits));
}

const std::string kTwoRequests =
    "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nContent-Length: 11\r\n\r\n{\"a\":\"bc\"}x"
    "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n"
    "4\r\n{\"a\"\r\n5\r\n:\"b\"}\r\n0\r\n\r\n";

TEST_CASE("Requests read whole, however their bytes are split across reads") {
  for (std::size_t piece :
       {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, kTwoRequests.size()}) {
    CAPTURE(piece);
    std::vector<Read> reads = RequestsFrom(Bytes(kTwoRequests, piece), 3);
    REQUIRE(reads.size() == 3);
    CHECK(reads[0].status == ReadStatus::kOk);
    CHECK(reads[0].method == "POST");
    CHECK(reads[0].target == "/v1/chat/completions");
    CHECK(reads[0].body == "{\"a\":\"bc\"}x");
    CHECK(reads[1].status == ReadStatus::kOk);
    CHECK(reads[1].body == "{\"a\":\"b\"}");
    CHECK(reads[1].keep_alive);
    CHECK(reads[2].status == ReadStatus::kClosed);  // the client closed between requests
  }
}

TEST_CASE("A request cut short is an I/O error, not a message or a clean close") {
  const std::string whole = kTwoRequests.substr(0, kTwoRequests.find("x") + 1);
  for (std::size_t cut : {std::size_t{5}, whole.find("\r\n\r\n") + 2, whole.size() - 3}) {
    CAPTURE(cut);
    std::vector<Read> reads = RequestsFrom({whole.substr(0, cut)}, 1);
    REQUIRE(reads.size() == 1);
    CHECK(reads[0].status == ReadStatus::kIoError);
  }
}

TEST_CASE("A malformed request is refused with the line that is wrong") {
  std::vector<Read> reads = RequestsFrom({"GET / HTTP/1.1\r\nHost x\r\n\r\n"}, 1);
  REQUIRE(reads.size() == 1);
  CHECK(reads[0].status == ReadStatus::kMalformed);
  CHECK(reads[0].error.find("line 2") != std::string::npos);
  reads = RequestsFrom({"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}, 1);
  CHECK(reads[0].status == ReadStatus::kMalformed);
  CHECK(reads[0].error.find("chunked body") != std::string::npos);
}

TEST_CASE("Heads and bodies beyond the limits are refused before they are read whole") {
  const Limits limits{64, 10};
  std::vector<Read> reads = RequestsFrom(
      Bytes("GET / HTTP/1.1\r\nX-Long: " + std::string(200, 'a') + "\r\n\r\n", 16), 1, limits);
  CHECK(reads[0].status == ReadStatus::kHeadTooLarge);
  // The declared length is enough to refuse: the body is never waited for.
  reads = RequestsFrom({"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"}, 1, limits);
  CHECK(reads[0].status == ReadStatus::kBodyTooLarge);
  CHECK(reads[0].error.find("11 bytes") != std::string::npos);
  reads = RequestsFrom(
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n"}, 1,
      limits);
  CHECK(reads[0].status == ReadStatus::kBodyTooLarge);
  reads = RequestsFrom({"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"}, 1, limits);
  CHECK(reads[0].status == ReadStatus::kOk);
  CHECK(reads[0].body == "0123456789");
}

TEST_CASE("A request that expects 100-continue gets it before its body is read") {
  std::string written;
  std::vector<Read> reads =
      RequestsFrom({"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", "abc"},
                   1, {}, &written);
  REQUIRE(reads[0].status == ReadStatus::kOk);
  CHECK(reads[0].body == "abc");
  CHECK(written == "HTTP/1.1 100 Continue\r\n\r\n");
  // Sent with its body at once: no 100 Continue is needed.
  reads = RequestsFrom({"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"},
                       1, {}, &written);
  CHECK(reads[0].body == "abc");
  CHECK(written.empty());
}

TEST_CASE("Responses read whole: by length, chunked, until close, and without a body") {
  Read r = ResponseFrom(Bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 3));
  CHECK(r.status == ReadStatus::kOk);
  CHECK(r.status_code == 200);
  CHECK(r.body == "hello");
  CHECK(r.keep_alive);
  r =
      ResponseFrom(Bytes("HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "2\r\nhi\r\n0\r\n\r\n",
                         1));
  CHECK(r.status_code == 503);
  CHECK(r.body == "hi");
  r = ResponseFrom({"HTTP/1.1 200 OK\r\n\r\nuntil ", "close"});
  CHECK(r.status == ReadStatus::kOk);
  CHECK(r.body == "until close");
  CHECK_FALSE(r.keep_alive);
  r = ResponseFrom({"HTTP/1.1 204 No Content\r\n\r\n"});
  CHECK(r.status == ReadStatus::kOk);
  CHECK(r.body.empty());
  r = ResponseFrom({"HTTP/1.1 200 OK\r\n\r\n" + std::string(100, 'a')}, Limits{1024, 64});
  CHECK(r.status == ReadStatus::kBodyTooLarge);
  r = ResponseFrom({});
  CHECK(r.status == ReadStatus::kClosed);
}

}  // namespace
}  // namespace partita::http
