#include "backends/openai.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>

#include "common/json_writer.h"

namespace partita::backends {

namespace json = boost::json;

namespace {

// Parses with a stack buffer for small documents (the common case: no heap at all).
class StackParse {
 public:
  bool Parse(std::string_view text) {
    json::parse_options options;
    options.max_depth = 64;
    boost::system::error_code ec;
    value_ = json::parse(text, ec, json::storage_ptr(&resource_), options);
    return !ec;
  }
  const json::value& value() const { return value_; }

 private:
  unsigned char buffer_[4096];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
  json::value value_;
};

const json::value* Field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::string_view StringOr(const json::value* v, std::string_view fallback = {}) {
  if (v != nullptr && v->is_string()) return v->get_string();
  return fallback;
}

std::string CodeText(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  return {};
}

std::optional<ApiError> ErrorOf(const json::value* v) {
  if (v == nullptr || v->is_null()) return std::nullopt;
  ApiError e;
  if (v->is_string()) {
    e.message = std::string(v->get_string());
    return e;
  }
  if (!v->is_object()) return std::nullopt;
  const json::object& o = v->get_object();
  e.message = std::string(StringOr(Field(o, "message")));
  e.type = std::string(StringOr(Field(o, "type")));
  e.code = CodeText(Field(o, "code"));
  return e;
}

// ---- A streaming (SAX) reader that tracks where each value sits ----------------------------
//
// The hot paths (request inspection, stream chunks, completions) read a handful of fields.
// PathHandler feeds boost::json's basic_parser and tells a Sink each value with its path, so
// no document is built. Keys longer than kMaxKey never match a wanted field.

constexpr std::size_t kMaxKey = 32;
constexpr std::size_t kMaxDepth = 64;

// Left uninitialized until Open() fills it: a parser holds kMaxDepth of them and most
// documents use three.
struct Frame {
  bool array;
  std::size_t index;  // arrays: the element being read
  char key[kMaxKey];  // objects: the current key
  std::size_t key_len;
  bool key_long;
  bool key_done;
};

// One step of a wanted path: a key, an array index, or any index (kAny).
struct Step {
  constexpr Step(const char* k) : key(k) {}  // NOLINT: implicit by design
  constexpr Step(int i) : index(i) {}        // NOLINT: implicit by design
  std::string_view key;
  int index = -2;
};
constexpr int kAny = -1;

class Path {
 public:
  std::size_t depth() const { return depth_; }
  // Whether the value being read sits at `steps` from the root.
  bool At(std::initializer_list<Step> steps) const {
    if (steps.size() != depth_) return false;
    std::size_t i = 0;
    for (const Step& st : steps) {
      const Frame& f = frames_[i++];
      if (f.array) {
        if (st.index == -2 || (st.index != kAny && static_cast<std::size_t>(st.index) != f.index)) {
          return false;
        }
      } else if (st.index != -2 || f.key_long || std::string_view(f.key, f.key_len) != st.key) {
        return false;
      }
    }
    return true;
  }

 protected:
  Frame frames_[kMaxDepth];
  std::size_t depth_ = 0;
};

template <typename Sink>
class PathHandler : public Path {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  using ec_t = boost::system::error_code;
  using sv = json::string_view;

  explicit PathHandler(Sink* sink) : sink_(*sink) {}

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t& ec) { return Open(false, ec); }
  bool on_array_begin(ec_t& ec) { return Open(true, ec); }
  bool on_object_end(std::size_t, ec_t&) { return Close(); }
  bool on_array_end(std::size_t, ec_t&) { return Close(); }
  bool on_key_part(sv s, std::size_t, ec_t&) {
    Key(s);
    return true;
  }
  bool on_key(sv s, std::size_t, ec_t&) {
    Key(s);
    frames_[depth_ - 1].key_done = true;
    return true;
  }
  bool on_string_part(sv s, std::size_t, ec_t&) {
    sink_.String(*this, std::string_view(s.data(), s.size()));
    return true;
  }
  bool on_string(sv s, std::size_t, ec_t&) {
    sink_.String(*this, std::string_view(s.data(), s.size()));
    return Scalar();
  }
  bool on_number_part(sv, ec_t&) { return true; }
  bool on_int64(std::int64_t v, sv, ec_t&) {
    sink_.Number(*this, static_cast<double>(v), true);
    return Scalar();
  }
  bool on_uint64(std::uint64_t v, sv, ec_t&) {
    sink_.Number(*this, static_cast<double>(v), true);
    return Scalar();
  }
  bool on_double(double v, sv, ec_t&) {
    sink_.Number(*this, v, false);
    return Scalar();
  }
  bool on_bool(bool v, ec_t&) {
    sink_.Bool(*this, v);
    return Scalar();
  }
  bool on_null(ec_t&) {
    sink_.Null(*this);
    return Scalar();
  }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }

 private:
  bool Open(bool array, ec_t& ec) {
    sink_.Open(*this, array);
    if (depth_ == kMaxDepth) {
      ec = json::error::too_deep;
      return false;
    }
    Frame& f = frames_[depth_++];
    f.array = array;
    f.index = 0;
    f.key_len = 0;
    f.key_long = false;
    f.key_done = true;
    return true;
  }
  bool Close() {
    --depth_;
    return Scalar();
  }
  // A value ended: an array moves to its next element.
  bool Scalar() {
    if (depth_ > 0 && frames_[depth_ - 1].array) ++frames_[depth_ - 1].index;
    return true;
  }
  void Key(sv s) {
    Frame& f = frames_[depth_ - 1];
    if (f.key_done) {
      f.key_len = 0;
      f.key_long = false;
      f.key_done = false;
    }
    if (f.key_len + s.size() > kMaxKey) {
      f.key_long = true;
      return;
    }
    std::memcpy(f.key + f.key_len, s.data(), s.size());
    f.key_len += s.size();
  }

  Sink& sink_;
};

// Default no-op callbacks; sinks override what they need.
struct SinkBase {
  bool root_object = false;
  void Open(const Path& p, bool array) {
    if (p.depth() == 0) root_object = !array;
  }
  void String(const Path&, std::string_view) {}
  void Number(const Path&, double, bool) {}
  void Bool(const Path&, bool) {}
  void Null(const Path&) {}
};

template <typename Sink>
bool SaxParse(std::string_view text, Sink& sink) {
  json::parse_options options;
  options.max_depth = kMaxDepth - 1;
  json::basic_parser<PathHandler<Sink>> parser(options, &sink);
  boost::system::error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || n != text.size()) return false;
  // A scalar at the root still parses; the sinks' root_object tells.
  return true;
}

// Clamped: a double outside int64's range must not be converted (undefined behaviour).
std::int64_t ToInt(double v) {
  if (!(v > -9e18)) return std::numeric_limits<std::int64_t>::min();
  if (!(v < 9e18)) return std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(v);
}

constexpr double kMaxTokensLimit = 1e9;

struct RequestSink : SinkBase {
  RequestInfo info;
  bool model_ok = false;
  bool messages_array = false;
  bool bad_message = false;
  bool bad_stream = false;
  bool bad_max = false;  // max_tokens or max_completion_tokens is not a whole number >= 1
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> max_completion_tokens;

  void Open(const Path& p, bool array) {
    SinkBase::Open(p, array);
    if (p.At({"messages"})) {
      messages_array = array;
    } else if (p.At({"messages", kAny})) {
      if (array) {
        bad_message = true;
      } else {
        ++info.message_count;
      }
    } else if (p.At({"model"})) {
      model_ok = false;
      info.model.clear();
    } else if (p.At({"stream"})) {
      bad_stream = true;
    } else if (p.depth() == 1 && (p.At({"max_tokens"}) || p.At({"max_completion_tokens"}))) {
      bad_max = true;
    }
  }
  void String(const Path& p, std::string_view s) {
    if (p.depth() == 1 && p.At({"model"})) {
      info.model.append(s);
      model_ok = true;
    } else if (p.At({"messages", kAny, "content"}) ||
               p.At({"messages", kAny, "content", kAny, "text"})) {
      info.content_bytes += s.size();
    } else if (p.At({"messages", kAny})) {
      bad_message = true;
    } else if (p.At({"stream"})) {
      bad_stream = true;
    } else if (p.depth() == 1 && (p.At({"max_tokens"}) || p.At({"max_completion_tokens"}))) {
      bad_max = true;
    }
  }
  void Number(const Path& p, double v, bool) {
    if (p.depth() != 1 && !p.At({"messages", kAny})) return;
    if (p.At({"max_tokens"}) || p.At({"max_completion_tokens"})) {
      if (!(v >= 1 && v <= kMaxTokensLimit) || v != std::floor(v)) {
        bad_max = true;
        return;
      }
      (p.At({"max_tokens"}) ? max_tokens : max_completion_tokens) = ToInt(v);
    } else if (p.At({"stream"})) {
      bad_stream = true;
    } else if (p.At({"messages", kAny})) {
      bad_message = true;
    }
  }
  void Bool(const Path& p, bool v) {
    if (p.depth() == 1 && (p.At({"max_tokens"}) || p.At({"max_completion_tokens"}))) {
      bad_max = true;
    } else if (p.At({"stream"})) {
      info.stream = v;
    } else if (p.At({"stream_options", "include_usage"})) {
      info.include_usage = v;
    } else if (p.At({"messages", kAny})) {
      bad_message = true;
    }
  }
  void Null(const Path& p) {
    if (p.At({"messages", kAny})) bad_message = true;
  }
};

// usage.{prompt_tokens, completion_tokens, total_tokens}, shared by chunks and completions.
struct UsageReader {
  Usage usage;
  bool usage_seen = false;
  bool total_seen = false;
  void Open(const Path& p, bool array) {
    if (!array && p.At({"usage"})) usage_seen = true;
  }
  void Number(const Path& p, double v) {
    if (p.depth() != 2) return;
    if (p.At({"usage", "prompt_tokens"})) {
      usage.prompt_tokens = ToInt(v);
    } else if (p.At({"usage", "completion_tokens"})) {
      usage.completion_tokens = ToInt(v);
    } else if (p.At({"usage", "total_tokens"})) {
      usage.total_tokens = ToInt(v);
      total_seen = true;
    }
  }
  void Finish() {
    if (usage_seen && !total_seen)
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  }
};

struct ChunkSink : SinkBase {
  explicit ChunkSink(ChunkInfo& out) : info(out) {}
  ChunkInfo& info;
  UsageReader u;
  Usage& usage = u.usage;
  bool& usage_seen = u.usage_seen;
  ApiError error;
  bool error_seen = false;

  void Open(const Path& p, bool array) {
    SinkBase::Open(p, array);
    u.Open(p, array);
    if (!array && p.At({"error"})) error_seen = true;
  }
  void String(const Path& p, std::string_view s) {
    if (p.At({"choices", 0, "delta", "content"})) {
      info.content.append(s);
    } else if (p.At({"choices", 0, "finish_reason"})) {
      info.finish_reason.append(s);
    } else if (p.At({"model"})) {
      info.model.append(s);
    } else if (p.At({"error"})) {
      error_seen = true;
      error.message.append(s);
    } else if (p.At({"error", "message"})) {
      error.message.append(s);
    } else if (p.At({"error", "type"})) {
      error.type.append(s);
    } else if (p.At({"error", "code"})) {
      error.code.append(s);
    }
  }
  void Number(const Path& p, double v, bool integral) {
    u.Number(p, v);
    if (integral && p.At({"error", "code"})) error.code = std::to_string(ToInt(v));
  }
};

struct CompletionSink : SinkBase {
  CompletionInfo info;
  UsageReader u;
  Usage& usage = u.usage;
  bool& usage_seen = u.usage_seen;
  bool has_choice = false;

  void Open(const Path& p, bool array) {
    SinkBase::Open(p, array);
    u.Open(p, array);
    if (!array && p.At({"choices", 0})) has_choice = true;
  }
  void String(const Path& p, std::string_view s) {
    if (p.At({"choices", 0, "message", "content"})) {
      info.content.append(s);
    } else if (p.At({"choices", 0, "finish_reason"})) {
      info.finish_reason.append(s);
    } else if (p.At({"model"})) {
      info.model.append(s);
    }
  }
  void Number(const Path& p, double v, bool) { u.Number(p, v); }
};

}  // namespace

Result<RequestInfo> InspectChatRequest(std::string_view body) {
  RequestSink sink;
  if (!SaxParse(body, sink)) return InvalidArgument("request body is not valid JSON");
  if (!sink.root_object) return InvalidArgument("request body must be a JSON object");
  if (!sink.model_ok || sink.info.model.empty()) {
    return InvalidArgument("request body needs a string field \"model\"");
  }
  if (!sink.messages_array || sink.info.message_count == 0) {
    return InvalidArgument("request body needs a non-empty array \"messages\"");
  }
  if (sink.bad_message) return InvalidArgument("every entry of \"messages\" must be an object");
  if (sink.bad_stream) return InvalidArgument("\"stream\" must be true or false");
  if (sink.bad_max) {
    return InvalidArgument("\"max_tokens\" must be a whole number from 1 to " +
                           std::to_string(static_cast<std::int64_t>(kMaxTokensLimit)) +
                           " (or absent: the gateway's default for the model)");
  }
  if (sink.max_completion_tokens) {
    sink.info.max_tokens = *sink.max_completion_tokens;
  } else if (sink.max_tokens) {
    sink.info.max_tokens = *sink.max_tokens;
  }
  return std::move(sink.info);
}

std::int64_t EstimatePromptTokens(const RequestInfo& info) {
  return static_cast<std::int64_t>((info.content_bytes + 3) / 4 + 4 * info.message_count);
}

Result<std::string> ReplaceModel(std::string_view body, std::string_view model) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return InvalidArgument("request body is not a JSON object");
  v.get_object()["model"] = model;
  return ToJson(v);
}

Result<std::string> CapMaxTokens(std::string_view body, std::int64_t max_tokens) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return InvalidArgument("request body is not a JSON object");
  json::object& o = v.get_object();
  bool set = false;
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    json::value* limit = o.if_contains(key);
    if (limit == nullptr) continue;
    if (!limit->is_int64() || limit->as_int64() > max_tokens) *limit = max_tokens;
    set = true;
  }
  if (!set) o["max_tokens"] = max_tokens;
  return ToJson(v);
}

void ChunkInfo::Clear() {
  done = false;
  content.clear();
  finish_reason.clear();
  usage.reset();
  error.reset();
  model.clear();
}

bool ParseStreamChunk(std::string_view data, ChunkInfo& out, std::string* why) {
  out.Clear();
  if (data == "[DONE]") {
    out.done = true;
    return true;
  }
  ChunkSink sink(out);
  if (!SaxParse(data, sink)) {
    if (why != nullptr) *why = "stream chunk is not valid JSON";
    return false;
  }
  if (!sink.root_object) {
    if (why != nullptr) *why = "stream chunk is not a JSON object";
    return false;
  }
  sink.u.Finish();
  if (sink.usage_seen) out.usage = sink.usage;
  if (sink.error_seen) out.error = std::move(sink.error);
  return true;
}

Result<CompletionInfo> ParseCompletion(std::string_view body) {
  CompletionSink sink;
  if (!SaxParse(body, sink)) return InvalidArgument("response body is not valid JSON");
  if (!sink.root_object) return InvalidArgument("response body is not a JSON object");
  if (!sink.has_choice) return InvalidArgument("response has no \"choices\"");
  sink.u.Finish();
  if (sink.usage_seen) sink.info.usage = sink.usage;
  return std::move(sink.info);
}

ApiError ParseErrorBody(std::string_view body) {
  StackParse parse;
  if (parse.Parse(body) && parse.value().is_object()) {
    const json::object& root = parse.value().get_object();
    if (std::optional<ApiError> e = ErrorOf(Field(root, "error"))) return *e;
    ApiError e;
    e.message = std::string(StringOr(Field(root, "message")));
    if (!e.message.empty()) return e;
  }
  ApiError e;
  constexpr std::size_t kMax = 200;
  e.message = std::string(body.substr(0, kMax));
  for (char& c : e.message) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return e;
}

std::string ErrorJson(std::string_view type, std::string_view code, std::string_view message) {
  json::object error;
  error["message"] = message;
  error["type"] = type;
  error["code"] = code;
  json::object root;
  root["error"] = std::move(error);
  return ToJson(root);
}

std::string ErrorEvent(std::string_view type, std::string_view code, std::string_view message) {
  std::string out = "event: error\ndata: ";
  out += ErrorJson(type, code, message);
  out += "\n\n";
  return out;
}

std::string BuildChatRequestBody(const ChatParams& params) {
  json::object root;
  root["model"] = params.model;
  json::array messages;
  for (const ChatMessage& m : params.messages) {
    json::object o;
    o["role"] = m.role;
    o["content"] = m.content;
    messages.push_back(std::move(o));
  }
  root["messages"] = std::move(messages);
  root["stream"] = params.stream;
  if (params.stream && params.include_usage) {
    json::object so;
    so["include_usage"] = true;
    root["stream_options"] = std::move(so);
  }
  if (params.max_tokens) root["max_tokens"] = *params.max_tokens;
  if (params.temperature) root["temperature"] = *params.temperature;
  return ToJson(root);
}

}  // namespace partita::backends
