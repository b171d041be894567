#include "backends/sse_parser.h"

#include <cstring>

namespace partita::backends {

bool SseParser::Feed(std::string_view bytes) {
  if (failed()) return false;
  if (finished_) {
    Fail("input after the end of the stream");
    return false;
  }
  bytes_ += bytes.size();
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  if (after_cr_ && p != end) {
    if (*p == '\n') ++p;
    after_cr_ = false;
  }
  while (p != end) {
    const char* stop = p;
    while (stop != end && *stop != '\n' && *stop != '\r') ++stop;
    if (line_.size() + static_cast<std::size_t>(stop - p) > limits_.max_line_bytes) {
      Fail("an event-stream line is longer than " + std::to_string(limits_.max_line_bytes) +
           " bytes");
      return false;
    }
    if (stop == end) {
      line_.append(p, stop);
      break;
    }
    if (line_.empty()) {
      ProcessLine(std::string_view(p, static_cast<std::size_t>(stop - p)));
    } else {
      line_.append(p, stop);
      ProcessLine(line_);
      line_.clear();
    }
    if (failed()) return false;
    if (*stop == '\r') {
      if (stop + 1 == end) {
        after_cr_ = true;
        p = end;
        break;
      }
      if (stop[1] == '\n') ++stop;
    }
    p = stop + 1;
  }
  return !failed();
}

bool SseParser::Finish() {
  if (failed()) return false;
  if (finished_) return true;
  finished_ = true;
  if (!line_.empty()) {
    unterminated_ = true;
    ProcessLine(line_);
    line_.clear();
  }
  if (has_data_) {
    unterminated_ = true;
    Dispatch();
  }
  return !failed();
}

void SseParser::Reset() {
  line_.clear();
  after_cr_ = false;
  first_line_ = true;
  data_.clear();
  has_data_ = false;
  event_type_.clear();
  last_id_.clear();
  ready_.clear();
  error_.clear();
  unterminated_ = false;
  finished_ = false;
  comments_ = 0;
  events_ = 0;
  bytes_ = 0;
}

bool SseParser::Next(SseEvent& out) {
  if (ready_.empty()) return false;
  out = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

void SseParser::ProcessLine(std::string_view line) {
  if (first_line_) {
    first_line_ = false;
    if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  }
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > limits_.max_event_bytes) {
      Fail("an event's data is longer than " + std::to_string(limits_.max_event_bytes) + " bytes");
      return;
    }
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored, as the standard says.
}

void SseParser::Dispatch() {
  if (!has_data_) {
    event_type_.clear();
    return;
  }
  if (ready_.size() >= limits_.max_queued_events) {
    Fail("more than " + std::to_string(limits_.max_queued_events) + " events queued");
    return;
  }
  SseEvent& e = ready_.emplace_back();
  e.event = std::move(event_type_);
  e.data = std::move(data_);
  e.id = last_id_;
  event_type_.clear();
  data_.clear();
  has_data_ = false;
  ++events_;
}

void SseParser::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

}  // namespace partita::backends
