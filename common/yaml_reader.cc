#include "common/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "common/did_you_mean.h"

namespace partita::yaml {

namespace {

std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "'";
  out += s.size() > kMax ? std::string(s.substr(0, kMax)) + "..." : std::string(s);
  out += "'";
  return out;
}

bool ExpectScalar(const Node& node, Diagnostics& d, std::string_view field, const char* want) {
  if (node.IsScalar()) return true;
  d.Error(node.location, std::string("expected ") + want + " for '" + std::string(field) +
                             "', got " + std::string(node.KindName()));
  return false;
}

}  // namespace

bool IsNullLike(const Node& node) {
  if (node.IsNull()) return true;
  if (!node.IsScalar() || node.quoted) return false;
  return node.scalar.empty() || node.scalar == "~" || node.scalar == "null" ||
         node.scalar == "Null" || node.scalar == "NULL";
}

std::optional<double> ReadDouble(const Node& node, Diagnostics& d, std::string_view field) {
  if (!ExpectScalar(node, d, field, "a number")) return std::nullopt;
  const std::string& s = node.scalar;
  double value = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (node.quoted || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    d.Error(node.location, "expected a number for '" + std::string(field) + "', got " + Quote(s));
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> ReadInt(const Node& node, Diagnostics& d, std::string_view field) {
  if (!ExpectScalar(node, d, field, "a whole number")) return std::nullopt;
  const std::string& s = node.scalar;
  std::int64_t value = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (node.quoted || ec != std::errc() || ptr != end) {
    d.Error(node.location,
            "expected a whole number for '" + std::string(field) + "', got " + Quote(s));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ReadBool(const Node& node, Diagnostics& d, std::string_view field) {
  if (!ExpectScalar(node, d, field, "true or false")) return std::nullopt;
  const std::string& s = node.scalar;
  if (!node.quoted) {
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  d.Error(node.location,
          "expected true or false for '" + std::string(field) + "', got " + Quote(s));
  return std::nullopt;
}

std::optional<std::string> ReadString(const Node& node, Diagnostics& d, std::string_view field) {
  if (!ExpectScalar(node, d, field, "a string")) return std::nullopt;
  return node.scalar;
}

std::optional<std::string> ReadEnum(const Node& node, Diagnostics& d, std::string_view field,
                                    std::span<const std::string_view> allowed) {
  std::optional<std::string> s = ReadString(node, d, field);
  if (!s) return std::nullopt;
  for (std::string_view a : allowed) {
    if (a == *s) return s;
  }
  d.Error(node.location, "unknown value " + Quote(*s) + " for '" + std::string(field) +
                             "'; expected " + JoinAlternatives(allowed) + DidYouMean(*s, allowed));
  return std::nullopt;
}

std::optional<double> ReadDoubleIn(const Node& node, Diagnostics& d, std::string_view field,
                                   double lo, double hi) {
  std::optional<double> v = ReadDouble(node, d, field);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    auto fmt = [](double x) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.15g", x);
      return std::string(buf);
    };
    d.Error(node.location, "'" + std::string(field) + "' is " + fmt(*v) + "; it must be between " +
                               fmt(lo) + " and " + fmt(hi));
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<std::string>> ReadStringList(const Node& node, Diagnostics& d,
                                                       std::string_view field, bool allow_single) {
  std::vector<std::string> out;
  if (allow_single && node.IsScalar()) {
    out.push_back(node.scalar);
    return out;
  }
  if (!node.IsSequence()) {
    d.Error(node.location, "expected a list for '" + std::string(field) + "', got " +
                               std::string(node.KindName()));
    return std::nullopt;
  }
  bool good = true;
  for (const Node& item : node.items) {
    std::optional<std::string> s = ReadString(item, d, field);
    if (s) {
      out.push_back(std::move(*s));
    } else {
      good = false;
    }
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> ReadCheckedStringList(const Node& node, Diagnostics& d,
                                                              std::string_view field,
                                                              bool (*valid)(std::string_view),
                                                              std::string_view what) {
  std::optional<std::vector<std::string>> out = ReadStringList(node, d, field);
  if (!out) return std::nullopt;
  bool good = true;
  for (std::size_t i = 0; i < out->size(); ++i) {
    if (valid((*out)[i])) continue;
    d.Error(node.items[i].location, "'" + (*out)[i] + "' is not " + std::string(what));
    good = false;
  }
  if (!good) return std::nullopt;
  return out;
}

MapReader::MapReader(const Node& node, Diagnostics& d, std::string_view what,
                     std::span<const std::string_view> known_keys, bool null_is_empty)
    : node_(node), d_(d), what_(what) {
  if (node.IsNull() && null_is_empty) {
    ok_ = true;
    return;
  }
  if (!node.IsMap()) {
    d.Error(node.location, "expected a map for " + what_ + ", got " + std::string(node.KindName()));
    return;
  }
  ok_ = true;
  for (const auto& [key, value] : node.entries) {
    bool found = false;
    for (std::string_view k : known_keys) {
      if (k == key.scalar) {
        found = true;
        break;
      }
    }
    if (!found) {
      d.Error(key.location, "unknown key " + Quote(key.scalar) + " in " + what_ +
                                DidYouMean(key.scalar, known_keys));
    }
  }
}

const Node* MapReader::Get(std::string_view key) const {
  if (!ok_) return nullptr;
  const Node* v = node_.Find(key);
  // `key:`, `key: ~` and `key: null` count as absent.
  if (v != nullptr && IsNullLike(*v)) return nullptr;
  return v;
}

const Node* MapReader::Require(std::string_view key) const {
  if (!ok_) return nullptr;
  const Node* v = Get(key);
  if (v == nullptr) {
    d_.Error(node_.location, "missing required key '" + std::string(key) + "' in " + what_);
  }
  return v;
}

double MapReader::Double(std::string_view key, double fallback) const {
  const Node* v = Get(key);
  if (v == nullptr) return fallback;
  return ReadDouble(*v, d_, std::string(key)).value_or(fallback);
}

double MapReader::DoubleIn(std::string_view key, double fallback, double lo, double hi) const {
  const Node* v = Get(key);
  if (v == nullptr) return fallback;
  return ReadDoubleIn(*v, d_, std::string(key), lo, hi).value_or(fallback);
}

std::int64_t MapReader::Int(std::string_view key, std::int64_t fallback) const {
  const Node* v = Get(key);
  if (v == nullptr) return fallback;
  return ReadInt(*v, d_, std::string(key)).value_or(fallback);
}

bool MapReader::Bool(std::string_view key, bool fallback) const {
  const Node* v = Get(key);
  if (v == nullptr) return fallback;
  return ReadBool(*v, d_, std::string(key)).value_or(fallback);
}

std::string MapReader::String(std::string_view key, std::string fallback) const {
  const Node* v = Get(key);
  if (v == nullptr) return fallback;
  return ReadString(*v, d_, std::string(key)).value_or(std::move(fallback));
}

std::optional<double> MapReader::RequireDouble(std::string_view key) const {
  const Node* v = Require(key);
  if (v == nullptr) return std::nullopt;
  return ReadDouble(*v, d_, std::string(key));
}

std::optional<double> MapReader::RequireDoubleIn(std::string_view key, double lo, double hi) const {
  const Node* v = Require(key);
  if (v == nullptr) return std::nullopt;
  return ReadDoubleIn(*v, d_, std::string(key), lo, hi);
}

std::optional<std::string> MapReader::RequireString(std::string_view key) const {
  const Node* v = Require(key);
  if (v == nullptr) return std::nullopt;
  return ReadString(*v, d_, std::string(key));
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

std::chrono::milliseconds MapReader::Millis(std::string_view key,
                                            std::chrono::milliseconds fallback, double lo,
                                            double hi) const {
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(DoubleIn(key, static_cast<double>(fallback.count()), lo, hi)));
}

void MapReader::RequireHeader(std::string_view kind) const {
  if (const Node* v = Require("apiVersion")) {
    if (auto s = ReadString(*v, d_, "apiVersion"); s && *s != "partita/v1") {
      d_.Error(v->location, "unsupported apiVersion '" + *s + "'; expected partita/v1");
    }
  }
  if (const Node* v = Require("kind")) {
    if (auto s = ReadString(*v, d_, "kind"); s && *s != kind) {
      d_.Error(v->location, "kind is '" + *s + "'; this file must have kind: " + std::string(kind));
    }
  }
}

}  // namespace partita::yaml
