#include "automodel/tokenizer/jinja/expr_parser.h"

#include <fmt/format.h>

#include "automodel/tokenizer/jinja/builtins.h"
#include "automodel/tokenizer/jinja/limits.h"

namespace automodel::tokenizer::jinja {

ExprParser::ExprParser(const std::string& src, const std::string& label, Position base)
    : label_(label), base_(base), tokens_(tokenize(src, label, base)) {}

ExprParser::Nesting::Nesting(ExprParser& parser) : p(parser) {
  if (++p.depth_ > 2 * kMaxExprDepth) p.fail(fmt::format("expression nested too deeply (more than {} levels)", kMaxExprDepth));
}

// Every node with operands: the tree's height is bounded, so evaluating and freeing it (both
// recursive) stay within the stack whatever the chain (a|f|f..., x[0][0]..., 1+1+...).
ExprPtr ExprParser::sized(ExprPtr e) {
  int d = 0;
  for (const Expr* c : {e->a.get(), e->b.get(), e->c.get()})
    if (c) d = std::max(d, c->depth);
  for (const auto& c : e->args)
    if (c) d = std::max(d, c->depth);
  for (const auto& kv : e->kwargs)
    if (kv.second) d = std::max(d, kv.second->depth);
  e->depth = d + 1;
  if (e->depth > kMaxExprDepth) fail(fmt::format("expression nested too deeply (more than {} levels)", kMaxExprDepth));
  return e;
}

void ExprParser::fail(const std::string& message) const {
  syntax_error(label_, Position{base_.line, base_.column + 2 + static_cast<int>(peek().offset)}, message);
}

void ExprParser::expect_op(const char* op) {
  if (!is_op(op)) fail(fmt::format("expected '{}', found '{}'", op, at_end() ? "end of tag" : peek().text));
  next();
}

std::string ExprParser::expect_name() {
  if (peek().kind != Token::Kind::kName) fail(fmt::format("expected a name, found '{}'", at_end() ? "end of tag" : peek().text));
  return next().text;
}

void ExprParser::expect_end() {
  if (!at_end()) fail(fmt::format("unexpected '{}'", peek().text));
}

ExprPtr ExprParser::make(Expr::Kind kind) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = base_.line;
  e->column = base_.column + 2 + static_cast<int>(peek().offset);
  return e;
}

// ---- operators, loosest first ---------------------------------------------------------------

ExprPtr ExprParser::parse_conditional() {
  Nesting guard(*this);
  auto value = parse_or();
  while (is_name("if")) {
    next();
    auto e = make(Expr::Kind::kCond);
    e->a = std::move(value);
    e->b = parse_or();
    if (is_name("else")) {
      next();
      e->c = parse_conditional();
    }
    value = sized(std::move(e));
  }
  return value;
}

ExprPtr ExprParser::parse_or() {
  auto left = parse_and();
  while (is_name("or")) {
    next();
    auto e = make(Expr::Kind::kOr);
    e->a = std::move(left);
    e->b = parse_and();
    left = sized(std::move(e));
  }
  return left;
}

ExprPtr ExprParser::parse_and() {
  auto left = parse_not();
  while (is_name("and")) {
    next();
    auto e = make(Expr::Kind::kAnd);
    e->a = std::move(left);
    e->b = parse_not();
    left = sized(std::move(e));
  }
  return left;
}

ExprPtr ExprParser::parse_not() {
  if (is_name("not")) {
    Nesting guard(*this);
    next();
    auto e = make(Expr::Kind::kNot);
    e->a = parse_not();
    return sized(std::move(e));
  }
  return parse_compare();
}

ExprPtr ExprParser::parse_compare() {
  auto left = parse_math1();
  while (true) {
    std::string op;
    if (peek().kind == Token::Kind::kOp &&
        (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == "<=" || peek().text == ">" ||
         peek().text == ">=")) {
      op = next().text;
    } else if (is_name("in")) {
      next();
      op = "in";
    } else if (is_name("not") && is_name("in", 1)) {
      next();
      next();
      op = "not in";
    } else {
      return left;
    }
    auto e = make(Expr::Kind::kBinary);
    e->name = op;
    e->a = std::move(left);
    e->b = parse_math1();
    left = sized(std::move(e));
  }
}

// Positioned after the right operand (it is parsed before the node is made).
ExprPtr ExprParser::binary(ExprPtr left, const std::string& op, ExprPtr right) {
  auto e = make(Expr::Kind::kBinary);
  e->name = op;
  e->a = std::move(left);
  e->b = std::move(right);
  return sized(std::move(e));
}

ExprPtr ExprParser::parse_math1() {
  auto left = parse_concat();
  while (is_op("+") || is_op("-")) {
    auto op = next().text;
    left = binary(std::move(left), op, parse_concat());
  }
  return left;
}

ExprPtr ExprParser::parse_concat() {
  auto left = parse_math2();
  while (is_op("~")) {
    next();
    left = binary(std::move(left), "~", parse_math2());
  }
  return left;
}

ExprPtr ExprParser::parse_math2() {
  auto left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    auto op = next().text;
    left = binary(std::move(left), op, parse_pow());
  }
  return left;
}

ExprPtr ExprParser::parse_pow() {
  auto left = parse_unary(true);
  while (is_op("**")) {
    next();
    left = binary(std::move(left), "**", parse_unary(true));
  }
  return left;
}

// Filters and tests apply to the signed value ("-x|abs" is "(-x)|abs"), so the operand of a sign
// or "not" is parsed without them.
ExprPtr ExprParser::parse_unary(bool with_filter) {
  Nesting guard(*this);  // deeply nested input is an error, not a stack overflow
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    bool neg = next().text == "-";
    auto operand = parse_unary(false);
    if (neg) {
      node = make(Expr::Kind::kNeg);
      node->a = std::move(operand);
      node = sized(std::move(node));
    } else {
      node = std::move(operand);
    }
  } else if (is_name("not")) {
    next();
    node = make(Expr::Kind::kNot);
    node->a = parse_unary(false);
    node = sized(std::move(node));
  } else {
    node = parse_postfix(parse_primary());
  }
  return with_filter ? parse_filters(std::move(node)) : std::move(node);
}

// ---- atoms ------------------------------------------------------------------------------------

ExprPtr ExprParser::parse_primary() {
  const Token& t = peek();
  if (t.kind != Token::Kind::kOp && t.kind != Token::Kind::kEnd) return parse_constant_or_name();
  if (is_op("(")) return parse_parenthesized();
  if (is_op("[")) return parse_list_literal();
  if (is_op("{")) return parse_dict_literal();
  fail(at_end() ? "unexpected end of expression" : fmt::format("unexpected '{}'", t.text));
}

ExprPtr ExprParser::parse_constant_or_name() {
  auto e = make(Expr::Kind::kLiteral);
  Token t = next();
  if (t.kind == Token::Kind::kString) {
    std::string s = t.text;
    while (peek().kind == Token::Kind::kString) s += next().text;  // adjacent literals concatenate
    e->literal = Value::string(s);
  } else if (t.kind == Token::Kind::kInt || t.kind == Token::Kind::kFloat) {
    e->literal = t.number;
  } else if (t.text == "true" || t.text == "True") {
    e->literal = Value::boolean(true);
  } else if (t.text == "false" || t.text == "False") {
    e->literal = Value::boolean(false);
  } else if (t.text == "none" || t.text == "None") {
    e->literal = Value::none();
  } else {
    e->kind = Expr::Kind::kName;
    e->name = t.text;
  }
  return e;
}

// "(x)" is x; "()" and "(x, ...)" are tuples, which templates use as lists.
ExprPtr ExprParser::parse_parenthesized() {
  next();
  if (is_op(")")) {
    next();
    return make(Expr::Kind::kList);
  }
  auto first = parse_expression();
  if (is_op(",")) {
    auto e = make(Expr::Kind::kList);
    e->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (is_op(")")) break;
      e->args.push_back(parse_expression());
    }
    expect_op(")");
    return sized(std::move(e));
  }
  expect_op(")");
  return first;
}

ExprPtr ExprParser::parse_list_literal() {
  next();
  auto e = make(Expr::Kind::kList);
  while (!is_op("]")) {
    e->args.push_back(parse_expression());
    if (!is_op(",")) break;
    next();
  }
  expect_op("]");
  return sized(std::move(e));
}

ExprPtr ExprParser::parse_dict_literal() {
  next();
  auto e = make(Expr::Kind::kDict);
  while (!is_op("}")) {
    e->args.push_back(parse_expression());
    expect_op(":");
    e->args.push_back(parse_expression());
    if (!is_op(",")) break;
    next();
  }
  expect_op("}");
  return sized(std::move(e));
}

// ---- postfix: attributes, subscripts, calls, filters, tests -----------------------------------

void ExprParser::parse_call_args(Expr& e) {
  expect_op("(");
  while (!is_op(")")) {
    if (peek().kind == Token::Kind::kName && is_op("=", 1)) {
      std::string key = next().text;
      next();
      e.kwargs.emplace_back(key, parse_expression());
    } else {
      e.args.push_back(parse_expression());
    }
    if (!is_op(",")) break;
    next();
  }
  expect_op(")");
}

ExprPtr ExprParser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(".")) {
      next();
      if (peek().kind == Token::Kind::kInt) {  // jinja2: foo.0 is foo[0]
        auto e = make(Expr::Kind::kItem);
        e->b = make(Expr::Kind::kLiteral);
        e->b->literal = next().number;
        e->a = std::move(node);
        node = sized(std::move(e));
        continue;
      }
      auto e = make(Expr::Kind::kAttr);
      e->name = expect_name();
      e->a = std::move(node);
      node = sized(std::move(e));
    } else if (is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (is_op("(")) {
      auto e = make(Expr::Kind::kCall);
      e->a = std::move(node);
      parse_call_args(*e);
      node = sized(std::move(e));
    } else {
      return node;
    }
  }
}

// x[i] or x[start:stop:step] (a slice keeps its three bounds in args, null when omitted).
ExprPtr ExprParser::parse_subscript(ExprPtr node) {
  next();
  ExprPtr start, stop, step;
  bool slice = false;
  if (!is_op(":")) start = parse_expression();
  if (is_op(":")) {
    slice = true;
    next();
    if (!is_op("]") && !is_op(":")) stop = parse_expression();
    if (is_op(":")) {
      next();
      if (!is_op("]")) step = parse_expression();
    }
  }
  expect_op("]");
  auto e = make(slice ? Expr::Kind::kSlice : Expr::Kind::kItem);
  e->a = std::move(node);
  if (slice) {
    e->args.push_back(std::move(start));
    e->args.push_back(std::move(stop));
    e->args.push_back(std::move(step));
  } else {
    e->b = std::move(start);
  }
  return sized(std::move(e));
}

ExprPtr ExprParser::parse_filter(ExprPtr target) {
  auto e = make(Expr::Kind::kFilter);
  std::string name = expect_name();
  while (is_op(".")) {  // dotted filter names are not used by templates; keep the error clear
    next();
    name += "." + expect_name();
  }
  // Unknown names fail at parse time, as in jinja2.
  if (!is_known_filter(name)) fail(fmt::format("no filter named '{}'", name));
  e->name = name;
  e->a = std::move(target);
  if (is_op("(")) parse_call_args(*e);
  return sized(std::move(e));
}

ExprPtr ExprParser::parse_filters(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      next();
      node = parse_filter(std::move(node));
    } else if (is_name("is")) {
      next();
      node = parse_test(std::move(node));
    } else {
      return node;
    }
  }
}

// After "is": [not] name, then "(args)" or one bare argument.
ExprPtr ExprParser::parse_test(ExprPtr node) {
  auto e = make(Expr::Kind::kTest);
  if (is_name("not")) {
    next();
    e->negated = true;
  }
  std::string name = peek().kind == Token::Kind::kName ? next().text : "";
  if (name.empty()) {  // "is none" etc. come as names; "is ==" style is not jinja
    fail("expected a test name after 'is'");
  }
  if (!is_known_test(name)) fail(fmt::format("no test named '{}'", name));
  e->name = name;
  e->a = std::move(node);
  if (is_op("(")) {
    parse_call_args(*e);
  } else if (starts_bare_test_argument()) {
    e->args.push_back(parse_primary());  // "is divisibleby 3", "is sameas none"
  }
  return sized(std::move(e));
}

// A keyword that continues the expression is not an argument ("x is defined and y").
bool ExprParser::starts_bare_test_argument() const {
  if (at_end()) return false;
  Token::Kind k = peek().kind;
  if (k == Token::Kind::kString || k == Token::Kind::kInt || k == Token::Kind::kFloat) return true;
  return k == Token::Kind::kName && !is_name("and") && !is_name("or") && !is_name("else") && !is_name("if") &&
         !is_name("is") && !is_name("in") && !is_name("not");
}

}  // namespace automodel::tokenizer::jinja
