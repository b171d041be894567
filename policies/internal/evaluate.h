// Evaluating compiled conditions against gathered field values: the inner loop of Decide().
//
// Internal to partita::policies. Inline, no allocation; safe from any thread.
#pragma once

#include "policies/internal/fields.h"
#include "policies/internal/program.h"

namespace partita::policy::internal {

inline bool EvaluateCondition(const Program& p, const FlatCondition& c, const FieldValues& v) {
  const std::size_t f = static_cast<std::size_t>(c.field);
  if (c.kind == FlatCondition::Kind::kFast) [[likely]] {
    const double x = v.number[f];
    const std::uint64_t b = v.bits[f];
    return (x >= c.lo) & (x <= c.hi) & (((b ^ c.flip) & c.mask) == 0);
  }
  bool found = false;
  if (c.kind == FlatCondition::Kind::kPoints) {
    const double x = v.number[f];
    for (std::uint32_t i = 0; i < c.count; ++i) found = found || p.points[c.begin + i] == x;
  } else {
    for (std::uint32_t i = 0; i < c.count && !found; ++i) {
      found = p.strings[c.begin + i] == v.device_id;
    }
  }
  return found != c.negate;
}

// The expression tree under `node` (kNoNode is always true).
inline bool EvaluateNode(const Program& p, std::uint32_t node, const FieldValues& v) {
  if (node == kNoNode) return true;
  const ExprNode& n = p.nodes[node];
  switch (n.op) {
    case ExprNode::Op::kLeaf: return EvaluateCondition(p, p.flat[n.a], v);
    case ExprNode::Op::kAll:
      for (std::uint32_t i = 0; i < n.n; ++i) {
        if (!EvaluateNode(p, p.children[n.a + i], v)) return false;
      }
      return true;
    case ExprNode::Op::kAny:
      for (std::uint32_t i = 0; i < n.n; ++i) {
        if (EvaluateNode(p, p.children[n.a + i], v)) return true;
      }
      return false;
    case ExprNode::Op::kNot: return !EvaluateNode(p, n.a, v);
  }
  return false;
}

// A rule's or guard's `when`: a plain AND (one word test, then the other conditions), or
// the tree.
inline bool Evaluate(const Program& p, const Match& m, const FieldValues& v) {
  if (m.tree) return EvaluateNode(p, m.root, v);
  if (v.onehot & m.forbidden) return false;
  const FlatCondition* c = p.conjunctions.data() + m.rest.begin;
  const FlatCondition* end = c + m.rest.count;
  for (; c != end; ++c) {
    if (!EvaluateCondition(p, *c, v)) return false;
  }
  return true;
}

}  // namespace partita::policy::internal
