// Syntax tree of a parsed Jinja template (expressions and statements).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "automodel/tokenizer/jinja/value.h"

namespace automodel::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind { kLiteral, kName, kList, kDict, kAttr, kItem, kSlice, kCall, kFilter, kTest, kNeg, kNot, kBinary, kAnd, kOr, kCond };
  Kind kind;
  int line = 0, column = 0;
  Value literal;
  std::string name;                // variable, attribute, filter, test or operator
  std::vector<ExprPtr> args;       // list items, dict key/value pairs, call/filter/test arguments, slice bounds
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr a, b, c;                 // operands (kCond: a if b else c)
  bool negated = false;            // "is not"
  int depth = 1;                   // height of this subtree (bounded at parse time)
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind { kText, kPrint, kIf, kFor, kSet, kSetBlock, kMacro, kCallBlock, kFilterBlock, kGeneration, kBreak, kContinue };
  Kind kind;
  int line = 0, column = 0;
  std::string text;                                 // kText
  ExprPtr expr;                                     // print / set value / for iterable / call / filter chain
  std::vector<std::pair<ExprPtr, Body>> branches;   // if / elif / else (else: null condition)
  std::vector<std::string> targets;                 // for / set names; macro name in targets[0]
  std::string attr;                                 // set ns.attr
  ExprPtr condition;                                // for ... if condition
  Body body, else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro / call-block parameters with defaults
};

}  // namespace automodel::tokenizer::jinja
