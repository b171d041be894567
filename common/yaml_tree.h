// A located YAML tree: the one place Partita parses the YAML files users write.
//
// Parse() builds a small immutable tree from yaml-cpp's event stream, keeping the line and column
// of every node and key. It is strict where yaml-cpp is lenient, so a hostile or mistaken file
// gets a located error instead of surprising behaviour: one document only; no aliases (so no
// "billion laughs"); scalar map keys only; no duplicate keys; bounded size, depth and node count.
// Typed readers (yaml_reader.h) turn nodes into values with located errors.
// Nodes are plain values; a parsed tree is safe to read from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/diagnostic.h"

namespace partita::yaml {

struct Node {
  enum class Kind : unsigned char { kNull, kScalar, kSequence, kMap };

  // Declared here, defaulted in yaml_tree.cc: clang 14 with libstdc++ 12 cannot instantiate
  // the implicit ones while std::pair<Node, Node> is still incomplete.
  Node();
  ~Node();
  Node(const Node&);
  Node(Node&&) noexcept;
  Node& operator=(const Node&);
  Node& operator=(Node&&) noexcept;

  Kind kind = Kind::kNull;
  bool quoted = false;  // scalar was written in quotes ("20" is the string 20, not a number)
  SourceLocation location;
  std::string scalar;                          // kScalar
  std::vector<Node> items;                     // kSequence
  std::vector<std::pair<Node, Node>> entries;  // kMap: (scalar key, value), in file order

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMap() const { return kind == Kind::kMap; }

  // The value for `key` in a map, or nullptr (also for non-maps).
  const Node* Find(std::string_view key) const;

  // "a map", "a list", "a value" or "nothing", for error messages.
  std::string_view KindName() const;
};

struct ParseLimits {
  std::size_t max_bytes = 8u << 20;  // files larger than this are refused before parsing
  int max_depth = 64;                // nesting of maps and lists
  std::size_t max_nodes = 2'000'000;
};

// Parses one YAML document. On error, adds located diagnostics and returns nullopt.
// An empty document parses as a null node.
std::optional<Node> Parse(std::string_view text, Diagnostics& diagnostics,
                          const ParseLimits& limits = {});

// Reads a file and parses it; a missing or unreadable file is an error without a location.
std::optional<Node> ParseFile(const std::string& path, Diagnostics& diagnostics,
                              const ParseLimits& limits = {});

// Reads a whole file into memory, refusing files over max_bytes.
Result<std::string> ReadTextFile(const std::string& path, std::size_t max_bytes = 8u << 20);

}  // namespace partita::yaml
