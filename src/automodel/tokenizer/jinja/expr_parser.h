// Expression tokens -> Expr trees with jinja2's operator precedence and the sandbox's nesting
// bound; the statement parser drives one ExprParser per tag body. Internal to the parser.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "automodel/tokenizer/jinja/ast.h"
#include "automodel/tokenizer/jinja/lexer.h"

namespace automodel::tokenizer::jinja {

class ExprParser {
 public:
  // `base`: where the segment's delimiter sits in the template (errors and node positions).
  ExprParser(const std::string& src, const std::string& label, Position base);

  ExprPtr parse_expression() { return parse_conditional(); }
  // An expression without "x if c else y" (for-loop iterables and conditions).
  ExprPtr parse_or();
  // `name(args)` after a "|"; `target` may be null (filter blocks apply it later).
  ExprPtr parse_filter(ExprPtr target);

  const Token& peek(size_t k = 0) const { return tokens_[std::min(pos_ + k, tokens_.size() - 1)]; }
  bool at_end() const { return peek().kind == Token::Kind::kEnd; }
  bool is_op(const char* op, size_t k = 0) const { return peek(k).kind == Token::Kind::kOp && peek(k).text == op; }
  bool is_name(const char* n, size_t k = 0) const { return peek(k).kind == Token::Kind::kName && peek(k).text == n; }
  Token next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  [[noreturn]] void fail(const std::string& message) const;
  void expect_op(const char* op);
  std::string expect_name();
  void expect_end();
  // A node positioned at the current token.
  ExprPtr make(Expr::Kind kind);

 private:
  // Recursion of the parser itself (parentheses, unary operators, nested literals).
  struct Nesting {
    ExprParser& p;
    explicit Nesting(ExprParser& parser);
    ~Nesting() { --p.depth_; }
  };
  ExprPtr sized(ExprPtr e);
  ExprPtr binary(ExprPtr left, const std::string& op, ExprPtr right);

  ExprPtr parse_conditional();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_constant_or_name();
  ExprPtr parse_parenthesized();
  ExprPtr parse_list_literal();
  ExprPtr parse_dict_literal();
  void parse_call_args(Expr& e);
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_filters(ExprPtr node);
  ExprPtr parse_test(ExprPtr node);
  bool starts_bare_test_argument() const;

  std::string label_;
  Position base_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace automodel::tokenizer::jinja
