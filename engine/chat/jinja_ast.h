// The parsed form of a Jinja template (internal to engine/chat): statements and expressions.
// Built by jinja_parser.cpp, run by jinja_render.cpp. Trees are bounded in depth by
// ParseOptions::max_nesting, so recursive evaluation and destruction cannot exhaust the stack.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/chat/jinja.h"
#include "engine/chat/jinja_value.h"

namespace quire::engine::jinja {

struct SourcePos {
  int line = 1;
  int column = 1;
};

enum class ExprKind : uint8_t {
  kLiteral,      // literal (a primitive Value)
  kVariable,     // name
  kList,         // operands: items (also tuples)
  kDict,         // operands: key0, value0, key1, value1, ...
  kAttribute,    // operands: [object]; name: the attribute
  kItem,         // operands: [object, index]
  kSlice,        // operands: [object, start, stop, step], absent parts null
  kCall,         // operands: [callee, args...]; arg_names parallel to args ("" = positional)
  kFilter,       // operands: [input, args...]; name: the filter; arg_names as kCall
  kTest,         // operands: [input, args...]; name: the test; negated: "is not"
  kNegate,       // operands: [x]
  kPlus,         // operands: [x]
  kNot,          // operands: [x]
  kBinary,       // operands: [left, right]; op
  kAnd,          // operands: [left, right]
  kOr,           // operands: [left, right]
  kConditional,  // operands: [then, condition, else (may be null)]
};

enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,
  kConcat,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kNotIn,
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  BinaryOp op = BinaryOp::kAdd;
  bool negated = false;
  int height = 1;  // 1 + the greatest height of the operands
  SourcePos pos;
  Value literal;  // primitive only
  std::string name;
  std::vector<std::unique_ptr<Expr>> operands;
  std::vector<std::string> arg_names;
};
using ExprPtr = std::unique_ptr<Expr>;

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

enum class StmtKind : uint8_t {
  kText,         // text
  kOutput,       // exprs: [value]
  kIf,           // exprs: one condition per branch (null for else); bodies: one per branch
  kFor,          // names: loop variables; exprs: [iterable, filter (may be null)];
                 // bodies: [body, else body]
  kSet,          // names: targets (several = unpacking); exprs: [value]
  kSetAttr,      // names: [namespace variable, attribute]; exprs: [value]
  kSetBlock,     // names: [target]; bodies: [body]
  kMacro,        // names: [macro name, parameters...]; exprs: defaults per parameter (may be
                 // null); bodies: [body]
  kFilterBlock,  // exprs: [filter chain whose innermost input is the variable kBlockInput];
                 // bodies: [body]
  kBreak,
  kContinue,
};

// The variable a filter block's chain reads its input from (not a valid identifier).
inline constexpr const char* kBlockInput = " filter block";

struct Stmt {
  StmtKind kind = StmtKind::kText;
  SourcePos pos;
  std::string text;
  std::vector<std::string> names;
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
};

struct Program {
  Body body;
};

}  // namespace quire::engine::jinja
