// Typed, located reads from a yaml::Node: the typed model of every user file is built with these.
//
// Each reader either returns a value or records a located error ("expected a number for
// 'battery_pct', got 'low'") and returns nullopt, so a loader can keep going and report every
// problem in one pass. MapReader rejects unknown keys with a did-you-mean suggestion.
// Not thread-safe (writes to the Diagnostics it is given).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "common/yaml_tree.h"

namespace partita::yaml {

// Scalar conversions. `field` names the value in messages.
std::optional<double> ReadDouble(const Node& node, Diagnostics& d, std::string_view field);
std::optional<std::int64_t> ReadInt(const Node& node, Diagnostics& d, std::string_view field);
std::optional<bool> ReadBool(const Node& node, Diagnostics& d, std::string_view field);
std::optional<std::string> ReadString(const Node& node, Diagnostics& d, std::string_view field);
// A string that must be one of `allowed`; reports the alternatives and a did-you-mean.
std::optional<std::string> ReadEnum(const Node& node, Diagnostics& d, std::string_view field,
                                    std::span<const std::string_view> allowed);
// A number within [lo, hi]; out-of-range values are named with their range.
std::optional<double> ReadDoubleIn(const Node& node, Diagnostics& d, std::string_view field,
                                   double lo, double hi);
// A list of strings (a single string is accepted as a one-element list when `allow_single`).
std::optional<std::vector<std::string>> ReadStringList(const Node& node, Diagnostics& d,
                                                       std::string_view field,
                                                       bool allow_single = false);
// A list of strings each of which must pass `valid`; each that does not is a located error
// "'x' is not <what>". Nullopt if any item is wrong.
std::optional<std::vector<std::string>> ReadCheckedStringList(const Node& node, Diagnostics& d,
                                                              std::string_view field,
                                                              bool (*valid)(std::string_view),
                                                              std::string_view what);

// Whether a scalar spells null (~, null, or empty) in YAML's core schema.
bool IsNullLike(const Node& node);

// A path from a file the user wrote, relative to that file's directory (absolute paths and ""
// stay as they are).
std::string ResolvePath(const std::string& base_dir, const std::string& path);

// Reads one YAML map whose keys are known in advance.
class MapReader {
 public:
  // Records an error if `node` is not a map (a null node counts as an empty map when
  // `null_is_empty`), and one per unknown key.
  MapReader(const Node& node, Diagnostics& d, std::string_view what,
            std::span<const std::string_view> known_keys, bool null_is_empty = false);
  MapReader(const Node& node, Diagnostics& d, std::string_view what,
            std::initializer_list<std::string_view> known_keys, bool null_is_empty = false)
      : MapReader(node, d, what, std::span(known_keys.begin(), known_keys.size()), null_is_empty) {}

  bool ok() const { return ok_; }
  const Node& node() const { return node_; }

  // The value for a key, or nullptr when absent.
  const Node* Get(std::string_view key) const;
  // Like Get, but a missing key is an error located at the map.
  const Node* Require(std::string_view key) const;

  // Optional typed fields: absent -> `fallback`; present but wrong -> error and `fallback`.
  double Double(std::string_view key, double fallback) const;
  double DoubleIn(std::string_view key, double fallback, double lo, double hi) const;
  std::int64_t Int(std::string_view key, std::int64_t fallback) const;
  bool Bool(std::string_view key, bool fallback) const;
  std::string String(std::string_view key, std::string fallback) const;

  // Required typed fields: absent or wrong -> error and nullopt.
  std::optional<double> RequireDouble(std::string_view key) const;
  std::optional<double> RequireDoubleIn(std::string_view key, double lo, double hi) const;
  std::optional<std::string> RequireString(std::string_view key) const;

  // A duration in milliseconds (`key_ms: 5000`) within [lo, hi] ms; absent -> `fallback`.
  std::chrono::milliseconds Millis(std::string_view key, std::chrono::milliseconds fallback,
                                   double lo, double hi) const;
  // The `apiVersion: partita/v1` and `kind: KIND` every Partita file starts with.
  void RequireHeader(std::string_view kind) const;

 private:
  const Node& node_;
  Diagnostics& d_;
  std::string what_;
  bool ok_ = false;
};

}  // namespace partita::yaml
