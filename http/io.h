// Whole HTTP/1.1 messages read from a stream with parser.h: how the ops ports, modeld, the
// router's health check and the CLI read requests and responses (the gateway's data path and
// the chat client drive the parser themselves, relaying bodies as they arrive).
//
// One message at a time: the head, then the whole body (Content-Length, chunked, or, for a
// response, until the connection closes), within the caller's limits. Bytes after the message
// stay in the ReadBuffer for the next one. The caller bounds the time (a beast::tcp_stream's
// expiry); a read that times out ends with kIoError, or kClosed when no byte of a new message
// had arrived.
// Threading: coroutines on the stream's executor; a message and its buffer belong to one reader.
#pragma once

#include <boost/asio/write.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "http/parser.h"
#include "net/asio.h"

namespace partita::http {

struct Limits {
  std::size_t max_head_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1 << 20;
};

enum class ReadStatus : std::uint8_t {
  kOk,
  kClosed,        // the peer closed (or the wait expired) before a new message began
  kMalformed,     // not a valid HTTP/1.1 message: a server answers 400
  kHeadTooLarge,  // 431
  kBodyTooLarge,  // 413
  kIoError,       // the connection failed or timed out inside a message
};

struct ReadResult {
  ReadStatus status = ReadStatus::kOk;
  std::string error;  // what was wrong (kMalformed: the line and why), for a log or a 400 body
};

// A message as read. The head's views point into `head_bytes`, so a message is neither copied
// nor moved; it is reused for the next one.
template <typename Head>
struct Message {
  Message() = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  std::string head_bytes;
  Head head;
  std::string body;
};
using Request = Message<RequestHead>;
using Response = Message<ResponseHead>;

namespace io_detail {

Parse ParseHead(std::string_view data, RequestHead& head, std::string* error);
Parse ParseHead(std::string_view data, ResponseHead& head, std::string* error);
// A response to a request without a body by definition (1xx, 204, 304).
bool BodyForbidden(const RequestHead& head);
bool BodyForbidden(const ResponseHead& head);
// Whether the body runs until the connection closes (a response with no framing).
bool BodyUntilClose(const RequestHead& head);
bool BodyUntilClose(const ResponseHead& head);
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Reads more bytes into `buffer`; the error code of the read (end of stream included).
template <typename Stream>
asio::awaitable<net::error_code> ReadSome(Stream& stream, ReadBuffer& buffer, std::size_t want) {
  const std::span<char> room = buffer.Prepare(want);
  auto [ec, n] = co_await stream.async_read_some(asio::buffer(room.data(), room.size()),
                                                 net::use_nothrow_awaitable);
  buffer.Commit(n);
  co_return ec;
}

template <typename Stream, typename Head>
asio::awaitable<ReadResult> ReadMessage(Stream& stream, ReadBuffer& buffer, Message<Head>& out,
                                        Limits limits, bool no_body) {
  out.body.clear();
  std::string error;
  // Only the first max_head_bytes are parsed: whatever the reads, the same bytes decide.
  for (;;) {
    const Parse parsed =
        ParseHead(buffer.data().substr(0, limits.max_head_bytes), out.head, &error);
    if (parsed == Parse::kComplete) break;
    if (parsed == Parse::kError) co_return ReadResult{ReadStatus::kMalformed, error};
    if (buffer.size() >= limits.max_head_bytes) {
      co_return ReadResult{
          ReadStatus::kHeadTooLarge,
          "the head is larger than " + std::to_string(limits.max_head_bytes) + " bytes"};
    }
    const bool started = !buffer.empty();
    const net::error_code ec = co_await ReadSome(stream, buffer, 4096);
    if (ec && !started && buffer.empty()) co_return ReadResult{ReadStatus::kClosed, ec.message()};
    if (ec) co_return ReadResult{ReadStatus::kIoError, "inside a head: " + ec.message()};
  }
  out.head_bytes.assign(buffer.data().substr(0, out.head.size));
  ParseHead(out.head_bytes, out.head, nullptr);
  buffer.Consume(out.head.size);
  if (no_body || BodyForbidden(out.head)) co_return ReadResult{};

  if (out.head.chunked) {
    ChunkedDecoder chunks;
    for (;;) {
      std::size_t consumed = 0;
      const ChunkedDecoder::Result r = chunks.Decode(buffer.data(), out.body, consumed);
      buffer.Consume(consumed);
      if (r == ChunkedDecoder::Result::kDone) co_return ReadResult{};
      if (r == ChunkedDecoder::Result::kError) {
        co_return ReadResult{ReadStatus::kMalformed, "chunked body: " + chunks.error()};
      }
      if (out.body.size() > limits.max_body_bytes) {
        co_return ReadResult{
            ReadStatus::kBodyTooLarge,
            "the body is larger than " + std::to_string(limits.max_body_bytes) + " bytes"};
      }
      if constexpr (std::is_same_v<Head, RequestHead>) {
        if (out.head.expect_continue && chunks.body_bytes() == 0 && buffer.empty()) {
          auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(kContinue),
                                                      net::use_nothrow_awaitable);
          if (wec) co_return ReadResult{ReadStatus::kIoError, wec.message()};
          out.head.expect_continue = false;
        }
      }
      const net::error_code ec = co_await ReadSome(stream, buffer, 16 * 1024);
      if (ec) co_return ReadResult{ReadStatus::kIoError, "inside a chunked body: " + ec.message()};
    }
  }

  if (out.head.has_content_length) {
    if (out.head.content_length > limits.max_body_bytes) {
      co_return ReadResult{ReadStatus::kBodyTooLarge,
                           "the body is " + std::to_string(out.head.content_length) +
                               " bytes; at most " + std::to_string(limits.max_body_bytes) +
                               " are accepted"};
    }
    const auto length = static_cast<std::size_t>(out.head.content_length);
    if constexpr (std::is_same_v<Head, RequestHead>) {
      if (out.head.expect_continue && length > 0 && buffer.empty()) {
        auto [wec, wn] =
            co_await asio::async_write(stream, asio::buffer(kContinue), net::use_nothrow_awaitable);
        if (wec) co_return ReadResult{ReadStatus::kIoError, wec.message()};
      }
    }
    while (buffer.size() < length) {
      const net::error_code ec = co_await ReadSome(stream, buffer, length - buffer.size());
      if (ec) co_return ReadResult{ReadStatus::kIoError, "inside a body: " + ec.message()};
    }
    out.body.assign(buffer.data().substr(0, length));
    buffer.Consume(length);
    co_return ReadResult{};
  }

  if (!BodyUntilClose(out.head)) co_return ReadResult{};
  out.head.keep_alive = false;
  for (;;) {
    out.body.append(buffer.data());
    buffer.Consume(buffer.size());
    if (out.body.size() > limits.max_body_bytes) {
      co_return ReadResult{
          ReadStatus::kBodyTooLarge,
          "the body is larger than " + std::to_string(limits.max_body_bytes) + " bytes"};
    }
    const net::error_code ec = co_await ReadSome(stream, buffer, 16 * 1024);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      out.body.append(buffer.data());
      buffer.Consume(buffer.size());
      co_return ReadResult{};
    }
    if (ec) co_return ReadResult{ReadStatus::kIoError, "inside a body: " + ec.message()};
  }
}

}  // namespace io_detail

// Reads the next request on `stream`. A request that expects "100 Continue" gets it before its
// body is read.
template <typename Stream>
asio::awaitable<ReadResult> ReadRequest(Stream& stream, ReadBuffer& buffer, Request& out,
                                        const Limits& limits = {}) {
  return io_detail::ReadMessage(stream, buffer, out, limits, false);
}

// Reads the response to a request sent on `stream`; the response to a HEAD request has no body
// whatever its head says.
template <typename Stream>
asio::awaitable<ReadResult> ReadResponse(Stream& stream, ReadBuffer& buffer, Response& out,
                                         const Limits& limits = {}, bool to_head_request = false) {
  return io_detail::ReadMessage(stream, buffer, out, limits, to_head_request);
}

// The bytes of "GET <target>" with its Host and User-Agent (and "Connection: close" when
// `close`).
std::string GetRequest(std::string_view host, std::string_view target, std::string_view user_agent,
                       bool close = false);

// Sends a request's bytes on `stream` and reads its response (a client's round trip).
template <typename Stream>
asio::awaitable<ReadResult> Exchange(Stream& stream, std::string_view request, ReadBuffer& buffer,
                                     Response& response, Limits limits = {}) {
  auto [ec, n] =
      co_await asio::async_write(stream, asio::buffer(request), net::use_nothrow_awaitable);
  if (ec) co_return ReadResult{ReadStatus::kIoError, "sending the request: " + ec.message()};
  co_return co_await ReadResponse(stream, buffer, response, limits,
                                  request.substr(0, 5) == "HEAD ");
}

}  // namespace partita::http
