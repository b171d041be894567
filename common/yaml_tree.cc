#include "common/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace partita::yaml {

Node::Node() = default;
Node::~Node() = default;
Node::Node(const Node&) = default;
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(const Node&) = default;
Node& Node::operator=(Node&&) noexcept = default;

const Node* Node::Find(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k.scalar == key) return &v;
  }
  return nullptr;
}

std::string_view Node::KindName() const {
  switch (kind) {
    case Kind::kNull: return "nothing";
    case Kind::kScalar: return "a value";
    case Kind::kSequence: return "a list";
    case Kind::kMap: return "a map";
  }
  return "a value";
}

namespace {

SourceLocation ToLocation(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

// Thrown inside the event handler to stop the parser; caught in Parse().
struct Abort {
  SourceLocation where;
  std::string message;
};

class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const ParseLimits& limits) : limits_(limits) {}

  std::optional<Node> TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    Node n;
    n.location = ToLocation(mark);
    Add(std::move(n));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw Abort{ToLocation(mark), "YAML aliases (*name) are not supported; write the value out"};
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                const std::string& value) override {
    Node n;
    n.kind = Node::Kind::kScalar;
    n.location = ToLocation(mark);
    n.scalar = value;
    n.quoted = (tag == "!");
    Add(std::move(n));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(mark, Node::Kind::kSequence);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(mark, Node::Kind::kMap);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    Node node;
    std::optional<Node> pending_key;  // maps: a key waiting for its value
    std::unordered_map<std::string, SourceLocation> keys_seen;
  };

  void CountNode(SourceLocation where) {
    if (++nodes_ > limits_.max_nodes) {
      throw Abort{where, "document has more than " + std::to_string(limits_.max_nodes) + " nodes"};
    }
  }

  void Open(const YAML::Mark& mark, Node::Kind kind) {
    const SourceLocation where = ToLocation(mark);
    CountNode(where);
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      throw Abort{where, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels"};
    }
    Frame f;
    f.node.kind = kind;
    f.node.location = where;
    stack_.push_back(std::move(f));
  }

  void Close() {
    Node done = std::move(stack_.back().node);
    stack_.pop_back();
    Add(std::move(done));
  }

  void Add(Node n) {
    if (n.kind == Node::Kind::kNull || n.kind == Node::Kind::kScalar) CountNode(n.location);
    if (stack_.empty()) {
      if (root_) throw Abort{n.location, "expected one YAML document, found another"};
      root_ = std::move(n);
      return;
    }
    Frame& top = stack_.back();
    if (top.node.kind == Node::Kind::kSequence) {
      top.node.items.push_back(std::move(n));
      return;
    }
    if (!top.pending_key) {
      if (n.kind != Node::Kind::kScalar) {
        throw Abort{n.location, "map keys must be plain names, not " + std::string(n.KindName())};
      }
      auto [it, inserted] = top.keys_seen.emplace(n.scalar, n.location);
      if (!inserted) {
        throw Abort{n.location, "duplicate key '" + n.scalar + "' (first at line " +
                                    std::to_string(it->second.line) + ")"};
      }
      top.pending_key = std::move(n);
      return;
    }
    top.node.entries.emplace_back(std::move(*top.pending_key), std::move(n));
    top.pending_key.reset();
  }

  const ParseLimits& limits_;
  std::vector<Frame> stack_;
  std::optional<Node> root_;
  std::size_t nodes_ = 0;
};

}  // namespace

std::optional<Node> Parse(std::string_view text, Diagnostics& diagnostics,
                          const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    diagnostics.Error({}, "file is " + std::to_string(text.size()) + " bytes; the limit is " +
                              std::to_string(limits.max_bytes));
    return std::nullopt;
  }
  if (text.find('\0') != std::string_view::npos) {
    diagnostics.Error({}, "file contains a NUL byte; is it a binary file?");
    return std::nullopt;
  }
  std::istringstream in{std::string(text)};
  TreeBuilder builder(limits);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Abort& abort) {
    diagnostics.Error(abort.where, abort.message);
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages are lower-case phrases ("end of map not found"); keep them, located.
    diagnostics.Error(ToLocation(e.mark), "YAML syntax: " + e.msg);
    return std::nullopt;
  } catch (const std::exception& e) {
    diagnostics.Error({}, std::string("YAML parser failed: ") + e.what());
    return std::nullopt;
  }
  std::optional<Node> root = builder.TakeRoot();
  if (!root) root.emplace();
  return root;
}

Result<std::string> ReadTextFile(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return IoError("cannot read '" + path + "'");
  if (static_cast<std::size_t>(size) > max_bytes) {
    return InvalidArgument("'" + path + "' is " + std::to_string(size) + " bytes; the limit is " +
                           std::to_string(max_bytes));
  }
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), size);
  if (!in) return IoError("cannot read '" + path + "'");
  return text;
}

std::optional<Node> ParseFile(const std::string& path, Diagnostics& diagnostics,
                              const ParseLimits& limits) {
  Result<std::string> text = ReadTextFile(path, limits.max_bytes);
  if (!text.ok()) {
    diagnostics.Error({}, text.status().message());
    return std::nullopt;
  }
  return Parse(*text, diagnostics, limits);
}

}  // namespace partita::yaml
