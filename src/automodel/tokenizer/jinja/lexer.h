// Template source -> text / {{ print }} / {% tag %} segments (with jinja2's whitespace rules),
// and a tag's body -> expression tokens. Internal to the parser (expr_parser, stmt_parser).
#pragma once

#include <string>
#include <vector>

#include "automodel/tokenizer/jinja/value.h"

namespace automodel::tokenizer::jinja {

struct Position {
  int line, column;
};

struct Segment {
  enum class Kind { kText, kPrint, kTag } kind;
  std::string content;
  int line = 1, column = 1;
};

struct Token {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
  Value number;  // kInt / kFloat
  size_t offset = 0;
};

// automodel::Error "[chat template] <label>: syntax error at line L, column C: <message>".
[[noreturn]] void syntax_error(const std::string& label, Position p, const std::string& message);

// Comments are dropped and {% raw %} blocks become text; a print or tag segment keeps its body.
std::vector<Segment> split_segments(const std::string& src, const std::string& label);
// `base` is the segment's opening delimiter, so errors point into the template, not the body.
std::vector<Token> tokenize(const std::string& src, const std::string& label, Position base);

}  // namespace automodel::tokenizer::jinja
