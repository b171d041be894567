// The SSE parser on the edge cases servers produce: splits at every byte, CR/LF/CRLF line ends,
// comments, multi-line data, a missing final newline, BOM, limits.
#include "backends/sse_parser.h"

#include <doctest/doctest.h>

#include <vector>

namespace partita::backends {
namespace {

std::vector<SseEvent> Drain(SseParser& p) {
  std::vector<SseEvent> out;
  SseEvent e;
  while (p.Next(e)) out.push_back(e);
  return out;
}

std::vector<SseEvent> ParseWhole(std::string_view text, bool finish = true) {
  SseParser p;
  REQUIRE(p.Feed(text));
  if (finish) REQUIRE(p.Finish());
  return Drain(p);
}

void CheckSame(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].event == b[i].event);
    CHECK(a[i].data == b[i].data);
    CHECK(a[i].id == b[i].id);
  }
}

constexpr std::string_view kMixed =
    ": keep-alive comment\r\n"
    "data: {\"a\":1}\r\n"
    "\r\n"
    "event: error\n"
    "id: 7\n"
    "data: line one\n"
    "data: line two\n"
    "\n"
    "data:no-space\r"
    "\r"
    "data\n"
    "\n"
    "data: [DONE]\n"
    "\n";

TEST_CASE("events of a mixed stream") {
  const std::vector<SseEvent> events = ParseWhole(kMixed);
  REQUIRE(events.size() == 5);
  CHECK(events[0].data == "{\"a\":1}");
  CHECK(events[0].event.empty());
  CHECK(events[1].event == "error");
  CHECK(events[1].id == "7");
  CHECK(events[1].data == "line one\nline two");
  CHECK(events[2].data == "no-space");
  CHECK(events[2].id == "7");  // ids are sticky
  CHECK(events[2].event.empty());
  CHECK(events[3].data.empty());  // "data" without a colon is an empty data line
  CHECK(events[4].data == "[DONE]");
}

TEST_CASE("split at every byte gives the same events") {
  const std::vector<SseEvent> whole = ParseWhole(kMixed);
  SseParser bytewise;
  for (char c : kMixed) REQUIRE(bytewise.Feed(std::string_view(&c, 1)));
  REQUIRE(bytewise.Finish());
  CheckSame(Drain(bytewise), whole);
  for (std::size_t cut = 0; cut <= kMixed.size(); ++cut) {
    SseParser two;
    REQUIRE(two.Feed(kMixed.substr(0, cut)));
    REQUIRE(two.Feed(kMixed.substr(cut)));
    REQUIRE(two.Finish());
    CAPTURE(cut);
    CheckSame(Drain(two), whole);
  }
}

TEST_CASE("a CR at the end of one read and LF at the start of the next are one line end") {
  SseParser p;
  REQUIRE(p.Feed("data: a\r"));
  REQUIRE(p.Feed("\n"));
  CHECK(p.queued() == 0);  // the LF must not count as a blank line
  REQUIRE(p.Feed("\r\n"));
  const std::vector<SseEvent> events = Drain(p);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "a");
}

TEST_CASE("comments are counted, not returned") {
  SseParser p;
  REQUIRE(p.Feed(": ping\n\n:\n: another\ndata: x\n\n"));
  CHECK(p.comments() == 3);
  const std::vector<SseEvent> events = Drain(p);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "x");
}

TEST_CASE("an event without data is not dispatched") {
  const std::vector<SseEvent> events = ParseWhole("event: ping\n\nid: 3\n\ndata: y\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "y");
  CHECK(events[0].event.empty());  // the event type of the dropped event does not leak
  CHECK(events[0].id == "3");
}

TEST_CASE("only one space after the colon is removed; unknown fields are ignored") {
  const std::vector<SseEvent> events = ParseWhole("data:  two\nretry: 100\nfoo: bar\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == " two");
}

TEST_CASE("missing final newline: Finish delivers the last event and says so") {
  SseParser p;
  REQUIRE(p.Feed("data: first\n\ndata: [DONE]"));
  std::vector<SseEvent> events = Drain(p);
  REQUIRE(events.size() == 1);
  CHECK_FALSE(p.unterminated());
  REQUIRE(p.Finish());
  events = Drain(p);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "[DONE]");
  CHECK(p.unterminated());
}

TEST_CASE("missing blank line after a complete data line") {
  SseParser p;
  REQUIRE(p.Feed("data: last\n"));
  CHECK(p.queued() == 0);
  REQUIRE(p.Finish());
  std::vector<SseEvent> events = Drain(p);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "last");
}

TEST_CASE("a leading byte order mark is skipped, also when split") {
  SseParser p;
  REQUIRE(p.Feed("\xEF"));
  REQUIRE(
      p.Feed("\xBB\xBF"
             "data: z\n\n"));
  std::vector<SseEvent> events = Drain(p);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "z");
}

TEST_CASE("a line over the limit fails the stream and further input is refused") {
  SseLimits limits;
  limits.max_line_bytes = 16;
  SseParser p(limits);
  CHECK_FALSE(p.Feed("data: 0123456789abcdef\n\n"));
  CHECK(p.failed());
  CHECK(p.error().find("longer than 16") != std::string::npos);
  CHECK_FALSE(p.Feed("data: x\n\n"));
  CHECK(p.queued() == 0);
}

TEST_CASE("an unterminated line growing over many reads hits the limit") {
  SseLimits limits;
  limits.max_line_bytes = 64;
  SseParser p(limits);
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = p.Feed("xxxxxxxx");
  CHECK_FALSE(ok);
  CHECK(p.failed());
}

TEST_CASE("an event's data over the limit fails the stream") {
  SseLimits limits;
  limits.max_event_bytes = 20;
  SseParser p(limits);
  CHECK_FALSE(p.Feed("data: 0123456789\ndata: 0123456789\n\n"));
  CHECK(p.error().find("data is longer") != std::string::npos);
}

TEST_CASE("too many queued events fail the stream instead of growing") {
  SseLimits limits;
  limits.max_queued_events = 3;
  SseParser p(limits);
  CHECK_FALSE(p.Feed("data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n"));
  CHECK(p.failed());
}

}  // namespace
}  // namespace partita::backends
