// Evaluating compiled conditions against gathered field values: the inner loop of Decide().
//
// Internal to partita::policies. Inline, no allocation; safe from any thread.
#pragma once

#include "policies/internal/fields.h"
#include "policies/internal/program.h"

namespace partita::policy::internal {

inline bool EvaluateCondition(const Program& p, const Condition& c, const FieldValues& v) {
  const std::size_t f = static_cast<std::size_t>(c.field);
  switch (c.test) {
    case Test::kRange: {
      const double x = v.number[f];
      return (c.lo_open ? x > c.lo : x >= c.lo) && (c.hi_open ? x < c.hi : x <= c.hi);
    }
    case Test::kMaskAny: return (v.bits[f] & c.mask) != 0;
    case Test::kMaskAll: return (v.bits[f] & c.mask) == c.mask;
    case Test::kPoints: {
      const double x = v.number[f];
      bool found = false;
      for (std::uint32_t i = 0; i < c.count; ++i) found = found || p.points[c.begin + i] == x;
      return found != c.negate;
    }
    case Test::kStrings: {
      bool found = false;
      for (std::uint32_t i = 0; i < c.count && !found; ++i) {
        found = p.strings[c.begin + i] == v.device_id;
      }
      return found != c.negate;
    }
  }
  return false;
}

inline bool Evaluate(const Program& p, std::uint32_t node, const FieldValues& v) {
  if (node == kNoNode) return true;
  const ExprNode& n = p.nodes[node];
  switch (n.op) {
    case ExprNode::Op::kLeaf: return EvaluateCondition(p, p.conditions[n.a], v);
    case ExprNode::Op::kAll:
      for (std::uint32_t i = 0; i < n.n; ++i) {
        if (!Evaluate(p, p.children[n.a + i], v)) return false;
      }
      return true;
    case ExprNode::Op::kAny:
      for (std::uint32_t i = 0; i < n.n; ++i) {
        if (Evaluate(p, p.children[n.a + i], v)) return true;
      }
      return false;
    case ExprNode::Op::kNot: return !Evaluate(p, n.a, v);
  }
  return false;
}

}  // namespace partita::policy::internal
