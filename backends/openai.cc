#include "backends/openai.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

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

std::optional<std::int64_t> IntOf(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return std::nullopt;
}

std::optional<Usage> UsageOf(const json::value* v) {
  if (v == nullptr || !v->is_object()) return std::nullopt;
  const json::object& o = v->get_object();
  Usage u;
  u.prompt_tokens = IntOf(Field(o, "prompt_tokens")).value_or(0);
  u.completion_tokens = IntOf(Field(o, "completion_tokens")).value_or(0);
  u.total_tokens = IntOf(Field(o, "total_tokens")).value_or(u.prompt_tokens + u.completion_tokens);
  return u;
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

const json::object* FirstChoice(const json::object& root) {
  const json::value* choices = Field(root, "choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) return nullptr;
  const json::value& first = choices->get_array().front();
  return first.is_object() ? &first.get_object() : nullptr;
}

std::size_t TextBytes(const json::value& content) {
  if (content.is_string()) return content.get_string().size();
  std::size_t n = 0;
  if (content.is_array()) {
    for (const json::value& part : content.get_array()) {
      if (part.is_object()) n += StringOr(Field(part.get_object(), "text")).size();
    }
  }
  return n;
}

}  // namespace

Result<RequestInfo> InspectChatRequest(std::string_view body) {
  StackParse parse;
  if (!parse.Parse(body)) return InvalidArgument("request body is not valid JSON");
  if (!parse.value().is_object()) return InvalidArgument("request body must be a JSON object");
  const json::object& root = parse.value().get_object();
  RequestInfo info;
  const json::value* model = Field(root, "model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return InvalidArgument("request body needs a string field \"model\"");
  }
  info.model = std::string(model->get_string());
  const json::value* messages = Field(root, "messages");
  if (messages == nullptr || !messages->is_array() || messages->get_array().empty()) {
    return InvalidArgument("request body needs a non-empty array \"messages\"");
  }
  for (const json::value& m : messages->get_array()) {
    if (!m.is_object()) return InvalidArgument("every entry of \"messages\" must be an object");
    if (const json::value* c = Field(m.get_object(), "content"))
      info.content_bytes += TextBytes(*c);
    ++info.message_count;
  }
  if (const json::value* s = Field(root, "stream"); s != nullptr && !s->is_null()) {
    if (!s->is_bool()) return InvalidArgument("\"stream\" must be true or false");
    info.stream = s->get_bool();
  }
  if (const json::value* so = Field(root, "stream_options"); so != nullptr && so->is_object()) {
    const json::value* iu = Field(so->get_object(), "include_usage");
    info.include_usage = iu != nullptr && iu->is_bool() && iu->get_bool();
  }
  std::optional<std::int64_t> max = IntOf(Field(root, "max_completion_tokens"));
  if (!max) max = IntOf(Field(root, "max_tokens"));
  if (max) {
    if (*max < 0) return InvalidArgument("\"max_tokens\" must not be negative");
    info.max_tokens = *max;
  }
  return info;
}

std::int64_t EstimatePromptTokens(const RequestInfo& info) {
  return static_cast<std::int64_t>((info.content_bytes + 3) / 4 + 4 * info.message_count);
}

Result<std::string> ReplaceModel(std::string_view body, std::string_view model) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return InvalidArgument("request body is not a JSON object");
  v.get_object()["model"] = model;
  return json::serialize(v);
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
  StackParse parse;
  if (!parse.Parse(data)) {
    if (why != nullptr) *why = "stream chunk is not valid JSON";
    return false;
  }
  if (!parse.value().is_object()) {
    if (why != nullptr) *why = "stream chunk is not a JSON object";
    return false;
  }
  const json::object& root = parse.value().get_object();
  out.error = ErrorOf(Field(root, "error"));
  out.model = std::string(StringOr(Field(root, "model")));
  out.usage = UsageOf(Field(root, "usage"));
  if (const json::object* choice = FirstChoice(root)) {
    if (const json::value* delta = Field(*choice, "delta");
        delta != nullptr && delta->is_object()) {
      out.content = std::string(StringOr(Field(delta->get_object(), "content")));
    }
    out.finish_reason = std::string(StringOr(Field(*choice, "finish_reason")));
  }
  return true;
}

Result<CompletionInfo> ParseCompletion(std::string_view body) {
  StackParse parse;
  if (!parse.Parse(body)) return InvalidArgument("response body is not valid JSON");
  if (!parse.value().is_object()) return InvalidArgument("response body is not a JSON object");
  const json::object& root = parse.value().get_object();
  CompletionInfo info;
  info.model = std::string(StringOr(Field(root, "model")));
  info.usage = UsageOf(Field(root, "usage"));
  const json::object* choice = FirstChoice(root);
  if (choice == nullptr) return InvalidArgument("response has no \"choices\"");
  if (const json::value* m = Field(*choice, "message"); m != nullptr && m->is_object()) {
    info.content = std::string(StringOr(Field(m->get_object(), "content")));
  }
  info.finish_reason = std::string(StringOr(Field(*choice, "finish_reason")));
  return info;
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
  return json::serialize(root);
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
  return json::serialize(root);
}

}  // namespace partita::backends
