#include "http/parser.h"

#include <algorithm>
#include <cstring>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace partita::http {

namespace {

constexpr std::size_t kMaxChunkLine = 1024;

// RFC 9110 token characters.
constexpr std::array<bool, 256> MakeTokenTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kToken = MakeTokenTable();

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kToken[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Field values: visible characters, obs-text, space and tab.
bool IsFieldValue(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// IEquals for a parsed name or value (no control characters) against `lower`, made of lowercase
// letters, digits and '-': for those bytes, setting bit 0x20 is the only case folding needed.
bool EqualsLower(std::string_view parsed, std::string_view lower) {
  if (parsed.size() != lower.size()) return false;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if ((parsed[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(token) for each element of a comma-separated list, trimmed, empty ones skipped.
template <typename F>
void ForEachListItem(std::string_view list, F&& f) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = TrimSpaces(list.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

bool ParseDecimal(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

Parse Fail(std::string* error, std::size_t line, std::string_view what) {
  if (error != nullptr) {
    *error = "line " + std::to_string(line) + ": ";
    error->append(what);
  }
  return Parse::kError;
}

// "HTTP/1.x": the minor version, or -1.
int ParseVersion(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') return -1;
  return v[7] - '0';
}

// Field-value characters: tab, space, visible ASCII and obs-text.
constexpr std::array<bool, 256> MakeValueTable() {
  std::array<bool, 256> t{};
  t['\t'] = true;
  for (int c = 0x20; c < 0x100; ++c) t[c] = c != 0x7f;
  return t;
}
constexpr std::array<bool, 256> kValue = MakeValueTable();

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// The first byte in [p, end) that is not a field-value character, or `end`. Sixteen bytes at a
// time where SSE2 is there (every x86-64): values are most of a head's bytes.
const char* SkipValue(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i control_max = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i tab = _mm_set1_epi8('\t');
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(x, control_max), x);  // x <= 0x1f
    const __m128i bad =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(x, tab), control), _mm_cmpeq_epi8(x, del));
    const int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p != end && kValue[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// One header line of a well-formed head, scanned once: `p` is at the line's first byte, and the
// block it is in ends with CRLF at `end`, so each scan stops inside it. On success `p` moves
// past the line's CRLF. False when the line has a fault, for CheckLine to name; `p` unchanged.
bool ScanLine(const char*& p, const char* end, Header& header) {
  const char* q = p;
  while (kToken[static_cast<unsigned char>(*q)]) ++q;
  if (q == p || *q != ':') return false;
  const char* const colon = q;
  ++q;
  while (IsSpace(*q)) ++q;
  const char* const value = q;
  q = SkipValue(q, end);  // stops at the CR, at the latest
  if (end - q < 2 || q[0] != '\r' || q[1] != '\n') return false;
  const char* value_end = q;
  while (value_end != value && IsSpace(value_end[-1])) --value_end;
  header.name = std::string_view(p, static_cast<std::size_t>(colon - p));
  header.value = std::string_view(value, static_cast<std::size_t>(value_end - value));
  p = q + 2;
  return true;
}

// The line ScanLine refused (without its CRLF): its fault, in the order a reader would see it.
Parse CheckLine(std::string_view line, std::size_t line_no, Header& header, std::string* error) {
  if (line.empty() || IsSpace(line.front())) {
    return Fail(error, line_no, "obsolete line folding (a line starting with a space)");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Fail(error, line_no, "a header without ':'");
  header.name = line.substr(0, colon);
  if (!IsToken(header.name)) return Fail(error, line_no, "a header name with invalid characters");
  header.value = TrimSpaces(line.substr(colon + 1));
  if (!IsFieldValue(header.value)) {
    return Fail(error, line_no, "a header value with control characters");
  }
  return Parse::kComplete;
}

// Parses the header lines of `block` (the head after its start line, each line ending in CRLF,
// the blank line excluded) and the framing they imply. `first_line` numbers lines in errors.
Parse ParseFields(std::string_view block, MessageHead& head, std::size_t first_line,
                  std::string* error) {
  head.header_count = 0;
  head.chunked = false;
  head.has_content_length = false;
  head.content_length = 0;
  bool saw_connection_close = false;
  bool saw_connection_keep_alive = false;
  bool saw_transfer_encoding = false;
  std::size_t line_no = first_line;
  const char* p = block.data();
  const char* const end = p + block.size();
  while (p != end) {
    Header header;
    if (!ScanLine(p, end, header)) {
      // CheckLine names the fault ScanLine found; it accepts the line only if the two disagree,
      // and then the line is taken as CheckLine read it.
      const std::string_view rest(p, static_cast<std::size_t>(end - p));
      const std::size_t line_end = rest.find("\r\n");
      const Parse checked = CheckLine(rest.substr(0, line_end), line_no, header, error);
      if (checked != Parse::kComplete) return checked;
      p += line_end + 2;
    }
    if (head.header_count == kMaxHeaders) {
      return Fail(error, line_no, "more than " + std::to_string(kMaxHeaders) + " headers");
    }
    head.headers[head.header_count++] = header;
    const std::string_view name = header.name;
    const std::string_view value = header.value;
    if (EqualsLower(name, "content-length")) {
      std::uint64_t n = 0;
      if (!ParseDecimal(value, n)) return Fail(error, line_no, "a bad Content-Length");
      if (head.has_content_length && n != head.content_length) {
        return Fail(error, line_no, "two different Content-Length values");
      }
      head.has_content_length = true;
      head.content_length = n;
    } else if (EqualsLower(name, "transfer-encoding")) {
      saw_transfer_encoding = true;
      bool last_chunked = false;
      bool bad = false;
      ForEachListItem(value, [&](std::string_view coding) {
        if (last_chunked) bad = true;  // chunked must be the final coding
        last_chunked = EqualsLower(coding, "chunked");
        if (!last_chunked) bad = true;  // no other coding is supported
      });
      if (bad || !last_chunked) {
        return Fail(error, line_no, "a Transfer-Encoding other than chunked");
      }
      head.chunked = true;
    } else if (EqualsLower(name, "connection")) {
      ForEachListItem(value, [&](std::string_view option) {
        if (EqualsLower(option, "close")) saw_connection_close = true;
        if (EqualsLower(option, "keep-alive")) saw_connection_keep_alive = true;
      });
    }
    ++line_no;
  }
  if (saw_transfer_encoding && head.has_content_length) {
    return Fail(error, line_no - 1, "both Content-Length and Transfer-Encoding");
  }
  head.keep_alive = !saw_connection_close && (head.version_minor >= 1 || saw_connection_keep_alive);
  return Parse::kComplete;
}

// The head's end (just past the blank line), or npos.
std::size_t HeadEnd(std::string_view data) {
  std::size_t from = 0;
  while (from < data.size()) {
    const void* lf = std::memchr(data.data() + from, '\n', data.size() - from);
    if (lf == nullptr) break;
    const std::size_t i = static_cast<std::size_t>(static_cast<const char*>(lf) - data.data());
    if (i >= 3 && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r') return i + 1;
    from = i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::string_view MessageHead::Find(std::string_view name) const {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (IEquals(headers[i].name, name)) return headers[i].value;
  }
  return {};
}

Parse ParseRequestHead(std::string_view data, RequestHead& head, std::string* error) {
  // A client may send empty lines before a request (RFC 9112, 2.2).
  std::size_t skipped = 0;
  while (data.substr(skipped, 2) == "\r\n") skipped += 2;
  const std::size_t end = HeadEnd(data.substr(skipped));
  if (end == std::string_view::npos) {
    // Check what has arrived of the request line, so garbage fails before the size limit.
    const std::string_view partial = data.substr(skipped, data.find(' ', skipped) - skipped);
    if (!partial.empty() && partial.size() < data.size() - skipped && !IsToken(partial)) {
      return Fail(error, 1, "a method with invalid characters");
    }
    return Parse::kIncomplete;
  }
  const std::string_view text = data.substr(skipped, end - 2);  // each line ends in CRLF
  const std::size_t line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    return Fail(error, 1, "not a request line (METHOD TARGET HTTP/1.1)");
  }
  head.method = line.substr(0, sp1);
  head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!IsToken(head.method)) return Fail(error, 1, "a method with invalid characters");
  if (head.target.empty()) return Fail(error, 1, "an empty target");
  for (char ch : head.target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return Fail(error, 1, "a target with spaces or control characters");
  }
  head.version_minor = ParseVersion(line.substr(sp2 + 1));
  if (head.version_minor < 0) return Fail(error, 1, "not HTTP/1.x");
  const Parse fields = ParseFields(text.substr(line_end + 2), head, 2, error);
  if (fields != Parse::kComplete) return fields;
  head.expect_continue = EqualsLower(head.Find("expect"), "100-continue");
  head.size = skipped + end;
  return Parse::kComplete;
}

Parse ParseResponseHead(std::string_view data, ResponseHead& head, std::string* error) {
  const std::size_t end = HeadEnd(data);
  if (end == std::string_view::npos) {
    if (data.size() >= 5 && data.substr(0, 5) != "HTTP/") {
      return Fail(error, 1, "not an HTTP response");
    }
    return Parse::kIncomplete;
  }
  const std::string_view text = data.substr(0, end - 2);
  const std::size_t line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  // HTTP/1.1 200 OK (the reason may be empty, with or without its space)
  head.version_minor = ParseVersion(line.substr(0, 8));
  if (head.version_minor < 0 || line.size() < 12 || line[8] != ' ') {
    return Fail(error, 1, "not a status line (HTTP/1.1 200 OK)");
  }
  const std::string_view code = line.substr(9, 3);
  if (code[0] < '1' || code[0] > '9' || code[1] < '0' || code[1] > '9' || code[2] < '0' ||
      code[2] > '9' || (line.size() > 12 && line[12] != ' ')) {
    return Fail(error, 1, "a status code that is not three digits");
  }
  head.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  head.reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (!IsFieldValue(head.reason)) return Fail(error, 1, "a reason with control characters");
  const Parse fields = ParseFields(text.substr(line_end + 2), head, 2, error);
  if (fields != Parse::kComplete) return fields;
  head.size = end;
  return Parse::kComplete;
}

ChunkedDecoder::Result ChunkedDecoder::Fail(std::string why) {
  state_ = State::kError;
  error_ = "bad chunked body: " + std::move(why);
  return Result::kError;
}

ChunkedDecoder::Result ChunkedDecoder::Decode(std::string_view in, std::string& out,
                                              std::size_t& consumed) {
  consumed = 0;
  if (state_ == State::kError) return Result::kError;
  // Takes one CRLF-terminated line (possibly split over calls) into `line`; false: need more.
  auto take_line = [&](std::string_view& line) -> bool {
    const std::size_t lf = in.find('\n', consumed);
    if (lf == std::string_view::npos) {
      line_.append(in.substr(consumed));
      consumed = in.size();
      return false;
    }
    if (line_.empty()) {
      line = in.substr(consumed, lf - consumed);
    } else {
      line_.append(in.substr(consumed, lf - consumed));
      line = line_;
    }
    consumed = lf + 1;
    return true;
  };
  // A size or trailer line of at most kMaxChunkLine bytes, its CR removed: nullopt when `line`
  // holds one, else what Decode returns (more input needed, or `what` too long or without CRLF).
  auto take_bounded_line = [&](std::string_view& line,
                               std::string_view what) -> std::optional<Result> {
    if (!take_line(line)) {
      if (line_.size() > kMaxChunkLine) return Fail(std::string(what) + " too long");
      return Result::kNeedMore;
    }
    if (line.size() > kMaxChunkLine) return Fail(std::string(what) + " too long");
    if (line.empty() || line.back() != '\r') return Fail(std::string(what) + " without CRLF");
    line.remove_suffix(1);
    return std::nullopt;
  };
  while (consumed < in.size() || state_ == State::kDone) {
    switch (state_) {
      case State::kSize: {
        std::string_view line;
        if (const std::optional<Result> r = take_bounded_line(line, "a chunk size line")) return *r;
        line = line.substr(0, line.find(';'));  // chunk extensions are ignored
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        if (line.empty() || line.size() > 15) return Fail("a bad chunk size");
        std::uint64_t size = 0;
        for (char c : line) {
          int digit = -1;
          if (c >= '0' && c <= '9') digit = c - '0';
          if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
          if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
          if (digit < 0) return Fail("a bad chunk size");
          size = size * 16 + static_cast<std::uint64_t>(digit);
        }
        line_.clear();
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kData: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - consumed));
        out.append(in.substr(consumed, n));
        consumed += n;
        remaining_ -= n;
        body_bytes_ += n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        std::string_view line;
        if (!take_line(line)) {
          if (line_.size() > 1) return Fail("chunk data longer than its size");
          return Result::kNeedMore;
        }
        if (line != "\r") return Fail("chunk data longer than its size");
        line_.clear();
        state_ = State::kSize;
        break;
      }
      case State::kTrailer: {
        std::string_view line;
        if (const std::optional<Result> r = take_bounded_line(line, "a trailer line")) return *r;
        const bool blank = line.empty();
        if (!blank && ++trailer_lines_ > kMaxHeaders) {
          return Fail("more than " + std::to_string(kMaxHeaders) + " trailer lines");
        }
        line_.clear();
        if (blank) state_ = State::kDone;
        break;
      }
      case State::kDone: return Result::kDone;
      case State::kError: return Result::kError;
    }
  }
  return Result::kNeedMore;
}

std::span<char> ReadBuffer::Prepare(std::size_t n) {
  if (capacity_ - end_ < n) {
    const std::size_t used = end_ - begin_;
    if (capacity_ - used >= n) {
      std::memmove(bytes_.get(), bytes_.get() + begin_, used);
    } else {
      const std::size_t capacity = std::max(capacity_ * 2, used + n);
      std::unique_ptr<char[]> bigger(new char[capacity]);
      if (used > 0) std::memcpy(bigger.get(), bytes_.get() + begin_, used);
      bytes_ = std::move(bigger);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = used;
  }
  return {bytes_.get() + end_, n};
}

void ReadBuffer::Erase(std::size_t offset, std::size_t n) {
  const std::size_t size = end_ - begin_;
  offset = std::min(offset, size);
  n = std::min(n, size - offset);
  if (n == 0) return;
  char* at = bytes_.get() + begin_ + offset;
  std::memmove(at, at + n, size - offset - n);
  end_ -= n;
}

void ReadBuffer::Consume(std::size_t n) {
  begin_ += std::min(n, end_ - begin_);
  if (begin_ == end_) begin_ = end_ = 0;
}

}  // namespace partita::http
