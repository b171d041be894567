#include "common/json_writer.h"

#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

namespace partita {

void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
}

void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[400];  // a fixed-notation double needs at most about 330 characters
  // The shortest plain decimal that reads back to `v`; beyond 1e21 plain digits are noise, so
  // the shortest general form is used there.
  const std::chars_format format =
      std::fabs(v) < 1e21 ? std::chars_format::fixed : std::chars_format::general;
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, format);
  if (ec != std::errc()) {
    out += "null";
    return;
  }
  out.append(buf, end);
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_) out_ += ',';
  first_ = false;
}

void JsonWriter::Quoted(std::string_view s) {
  out_ += '"';
  AppendJsonEscaped(out_, s);
  out_ += '"';
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_ += '{';
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_ += '}';
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_ += '[';
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_ += ']';
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  Quoted(key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  Quoted(s);
  return *this;
}

JsonWriter& JsonWriter::Number(double v) {
  Separate();
  AppendJsonNumber(out_, v);
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t v) {
  Separate();
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool b) {
  Separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Value(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return Null();
    case boost::json::kind::bool_: return Bool(v.get_bool());
    case boost::json::kind::int64: return Int(v.get_int64());
    case boost::json::kind::uint64:
      Separate();
      out_ += std::to_string(v.get_uint64());
      return *this;
    case boost::json::kind::double_: return Number(v.get_double());
    case boost::json::kind::string: return String(v.get_string());
    case boost::json::kind::array:
      BeginArray();
      for (const boost::json::value& e : v.get_array()) Value(e);
      return EndArray();
    case boost::json::kind::object:
      BeginObject();
      for (const auto& member : v.get_object()) Key(member.key()).Value(member.value());
      return EndObject();
  }
  return *this;
}

std::string ToJson(const boost::json::value& v) { return JsonWriter().Value(v).Take(); }

}  // namespace partita
