// The one way Partita writes JSON: a small streaming writer with plain numbers.
//
// Every JSON Partita emits (`ask --json`, `policy explain --json`, JSON reports, the gateway's
// health and model list, request bodies sent upstream, modeld's answers) goes through it, so
// escaping and number formatting are decided once: integers as integers, other numbers in the
// shortest plain decimal that reads back to the same double ("352", "0.0013", never "3.52E2"),
// NaN and infinities as null. A Boost.JSON value (a parsed body being rewritten, a tree built
// with Boost.JSON) is written through the same rules with Value().
// Not thread-safe: one writer per document.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace partita {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next member's name (inside an object); its value follows.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view s);
  JsonWriter& Number(double v);
  JsonWriter& Int(std::int64_t v);
  JsonWriter& Bool(bool b);
  JsonWriter& Null();
  // A Boost.JSON value, with this writer's number formatting.
  JsonWriter& Value(const boost::json::value& v);

  // Key(k) then the value.
  JsonWriter& Member(std::string_view key, std::string_view s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, const char* s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, double v) { return Key(key).Number(v); }
  JsonWriter& Member(std::string_view key, bool b) { return Key(key).Bool(b); }
  JsonWriter& IntMember(std::string_view key, std::int64_t v) { return Key(key).Int(v); }

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();  // a comma before every element but a container's first, and after a key
  void Quoted(std::string_view s);

  std::string out_;
  bool first_ = true;       // no element yet in the current container
  bool after_key_ = false;  // a key was written; its value comes next
};

// `s` escaped for a JSON string, without the quotes.
void AppendJsonEscaped(std::string& out, std::string_view s);
// A number as JsonWriter::Number writes it.
void AppendJsonNumber(std::string& out, double v);
// A Boost.JSON value as JSON text, with JsonWriter's numbers.
std::string ToJson(const boost::json::value& v);

}  // namespace partita
