// Incremental parser for Server-Sent Events (text/event-stream, HTML Living Standard 9.2.6),
// the streaming format of OpenAI-compatible servers.
//
// Bytes are fed as they arrive, split anywhere (inside a line, between CR and LF, inside a
// UTF-8 sequence); complete events are queued and taken with Next(). Lines end with LF, CR or
// CRLF; lines starting with ':' are comments (counted, not returned); "data" lines of one event
// are joined with '\n'; a single space after the colon is removed; a leading BOM is skipped;
// events without data are not dispatched (per the standard). One deviation: Finish() at the end
// of the stream dispatches an event whose last line or blank line never came (a server that
// omits the final newline still delivers its last event; `unterminated()` reports it).
// Limits bound memory: a line or an event's data beyond its limit is an error, after which the
// parser refuses further input. Not thread-safe: one parser per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace partita::backends {

struct SseEvent {
  std::string event;  // the "event" field; empty means the default type "message"
  std::string data;   // "data" lines joined with '\n'
  std::string id;     // the last "id" field seen in the stream (sticky, as the standard says)
};

struct SseLimits {
  std::size_t max_line_bytes = 1 << 20;
  std::size_t max_event_bytes = 1 << 20;  // data of one event
  std::size_t max_queued_events = 4096;   // events parsed but not yet taken with Next()
};

class SseParser {
 public:
  explicit SseParser(SseLimits limits = {}) : limits_(limits) {}

  // Parses `bytes`, queueing complete events. False once the stream is in error (see error()).
  bool Feed(std::string_view bytes);
  // End of input: processes an unterminated last line and dispatches a pending event.
  bool Finish();

  // Back to the start of a new stream (same limits), keeping allocated memory.
  void Reset();

  // Moves the next complete event into `out`; false when none is queued.
  bool Next(SseEvent& out);
  std::size_t queued() const { return ready_.size(); }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Finish() had to complete an event the stream did not terminate with a blank line.
  bool unterminated() const { return unterminated_; }
  std::uint64_t comments() const { return comments_; }
  std::uint64_t events() const { return events_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void ProcessLine(std::string_view line);
  void Dispatch();
  void Fail(std::string message);

  SseLimits limits_;
  std::string line_;        // the current line so far (without its terminator)
  bool after_cr_ = false;   // the previous byte was CR: a following LF belongs to it
  bool first_line_ = true;  // BOM check pending
  std::string data_;        // data of the event being built
  bool has_data_ = false;   // at least one data field (data_ may legitimately be empty)
  std::string event_type_;  // event field of the event being built
  std::string last_id_;     // sticky id
  std::deque<SseEvent> ready_;
  std::string error_;
  bool unterminated_ = false;
  bool finished_ = false;
  std::uint64_t comments_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace partita::backends
