#include "automodel/tokenizer/jinja/parser.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/arithmetic.h"
#include "automodel/tokenizer/jinja/limits.h"

namespace automodel::tokenizer::jinja {
namespace {

// ---- template level: text, {{ print }}, {% tag %} -------------------------------------------

struct Segment {
  enum class Kind { kText, kPrint, kTag } kind;
  std::string content;
  int line = 1, column = 1;
};

struct Position {
  int line, column;
};

[[noreturn]] void syntax_error(const std::string& label, Position p, const std::string& message) {
  throw Error(fmt::format("[chat template] {}: syntax error at line {}, column {}: {}", label, p.line, p.column, message));
}

// End of a tag body starting at `from`, skipping quoted strings; npos if unterminated.
size_t find_close(const std::string& src, size_t from, const char* close) {
  char quote = 0;
  for (size_t i = from; i + 1 < src.size(); ++i) {
    char c = src[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    else if (c == close[0] && src[i + 1] == close[1]) return i;
  }
  return std::string::npos;
}

void rstrip_all(std::string& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
}

// Line and column of increasing offsets in one pass (a position per tag from the start would be
// quadratic in the template's size).
struct PositionCursor {
  const std::string& src;
  size_t offset = 0;
  Position p{1, 1};
  Position at(size_t target) {
    if (target < offset) {
      offset = 0;
      p = {1, 1};
    }
    for (; offset < target && offset < src.size(); ++offset) {
      if (src[offset] == '\n') {
        ++p.line;
        p.column = 1;
      } else {
        ++p.column;
      }
    }
    return p;
  }
};

std::vector<Segment> split_segments(const std::string& src, const std::string& label) {
  PositionCursor position{src};
  std::vector<Segment> out;
  std::string text;
  bool strip_next = false;  // "-" on the previous tag's close
  bool trim_newline = false;
  size_t pos = 0;
  auto flush_text = [&] {
    if (!text.empty()) out.push_back({Segment::Kind::kText, text, 0, 0});
    text.clear();
  };
  while (pos < src.size()) {
    size_t open = std::string::npos;
    for (size_t i = pos; i + 1 < src.size(); ++i)
      if (src[i] == '{' && (src[i + 1] == '{' || src[i + 1] == '%' || src[i + 1] == '#')) {
        open = i;
        break;
      }
    std::string chunk = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    // jinja2's lexer: a line "starts" after a newline, at the template start, or when the previous
    // tag consumed text ending in a newline (trim_blocks, or "-" whitespace stripping).
    bool line_starting = pos == 0;
    if (strip_next) {
      size_t k = 0;
      while (k < chunk.size() && std::isspace(static_cast<unsigned char>(chunk[k]))) ++k;
      line_starting = k > 0 && chunk[k - 1] == '\n';
      chunk.erase(0, k);
    } else if (trim_newline && !chunk.empty() && chunk[0] == '\n') {
      chunk.erase(0, 1);
      line_starting = true;
    } else if (trim_newline && chunk.size() >= 2 && chunk[0] == '\r' && chunk[1] == '\n') {
      chunk.erase(0, 2);
      line_starting = true;
    }
    strip_next = trim_newline = false;
    if (open == std::string::npos) {
      text += chunk;
      break;
    }
    char type = src[open + 1];
    char modifier = open + 2 < src.size() ? src[open + 2] : 0;
    if (modifier == '-') {
      rstrip_all(chunk);
    } else if (modifier != '+' && (type == '%' || type == '#')) {
      // lstrip_blocks: drop spaces/tabs between the line start and a block or comment tag.
      size_t newline = chunk.find_last_of('\n');
      size_t from = newline == std::string::npos ? 0 : newline + 1;
      if ((newline != std::string::npos || line_starting) && chunk.find_first_not_of(" \t", from) == std::string::npos)
        chunk.erase(from);
    }
    text += chunk;
    Position p = position.at(open);
    size_t body_start = open + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
    const char* close = type == '{' ? "}}" : (type == '%' ? "%}" : "#}");
    size_t end = type == '#' ? src.find("#}", body_start) : find_close(src, body_start, close);
    if (end == std::string::npos)
      syntax_error(label, p, type == '{' ? "unclosed '{{' (missing '}}')" : type == '%' ? "unclosed '{%' (missing '%}')"
                                                                                        : "unclosed comment (missing '#}')");
    size_t body_end = end;
    char close_modifier = end > body_start ? src[end - 1] : 0;
    if (close_modifier == '-' || (close_modifier == '+' && type != '{')) --body_end;
    std::string body = src.substr(body_start, body_end - body_start);
    pos = end + 2;
    strip_next = close_modifier == '-';
    trim_newline = !strip_next && close_modifier != '+' && type != '{';  // trim_blocks
    if (type == '#') continue;
    // {% raw %} ... {% endraw %}: copy literally.
    std::string trimmed = body;
    trimmed.erase(0, trimmed.find_first_not_of(" \t\r\n"));
    trimmed.erase(trimmed.find_last_not_of(" \t\r\n") + 1);
    if (type == '%' && trimmed == "raw") {
      size_t search = pos, end_raw = std::string::npos, after = std::string::npos;
      while ((search = src.find("{%", search)) != std::string::npos) {
        size_t b = search + 2;
        bool dash = b < src.size() && (src[b] == '-' || src[b] == '+');
        if (dash) ++b;
        size_t close_at = src.find("%}", b);
        if (close_at == std::string::npos) break;
        std::string inner = src.substr(b, close_at - b);
        if (!inner.empty() && (inner.back() == '-' || inner.back() == '+')) inner.pop_back();
        inner.erase(0, inner.find_first_not_of(" \t\r\n"));
        inner.erase(inner.find_last_not_of(" \t\r\n") + 1);
        if (inner == "endraw") {
          end_raw = search;
          after = close_at + 2;
          std::string raw = src.substr(pos, end_raw - pos);
          if (trim_newline && !raw.empty() && raw[0] == '\n') raw.erase(0, 1);
          if (src[search + 2] == '-') rstrip_all(raw);
          text += raw;
          strip_next = src[close_at - 1] == '-';
          trim_newline = !strip_next;
          break;
        }
        search = close_at;
      }
      if (end_raw == std::string::npos) syntax_error(label, p, "unclosed {% raw %} (missing {% endraw %})");
      pos = after;
      continue;
    }
    flush_text();
    out.push_back({type == '{' ? Segment::Kind::kPrint : Segment::Kind::kTag, body, p.line, p.column});
  }
  flush_text();
  return out;
}

// ---- expression tokens ----------------------------------------------------------------------

struct Token {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
  Value number;  // kInt / kFloat
  size_t offset = 0;
};

std::vector<Token> tokenize(const std::string& src, const std::string& label, Position base) {
  std::vector<Token> out;
  auto where = [&](size_t offset) { return Position{base.line, base.column + 2 + static_cast<int>(offset)}; };
  size_t i = 0;
  while (i < src.size()) {
    char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = i;
      while (i < src.size() && (std::isalnum(static_cast<unsigned char>(src[i])) || src[i] == '_')) ++i;
      out.push_back({Token::Kind::kName, src.substr(b, i - b), Value(), b});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t b = i;
      auto digit_at = [&](size_t k) { return k < src.size() && std::isdigit(static_cast<unsigned char>(src[k])); };
      while (i < src.size() && (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == '_')) ++i;
      bool is_float = false;
      if (i + 1 < src.size() && src[i] == '.' && digit_at(i + 1)) {
        is_float = true;
        ++i;
        while (i < src.size() && (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == '_')) ++i;
      }
      // An exponent needs digits ("1e" is the int 1 followed by the name e, as jinja2 lexes it).
      if (i < src.size() && (src[i] == 'e' || src[i] == 'E')) {
        size_t k = i + 1;
        if (k < src.size() && (src[k] == '+' || src[k] == '-')) ++k;
        if (digit_at(k)) {
          is_float = true;
          i = k;
          while (i < src.size() && (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == '_')) ++i;
        }
      }
      std::string num;
      for (char d : src.substr(b, i - b))
        if (d != '_') num += d;
      Token t{is_float ? Token::Kind::kFloat : Token::Kind::kInt, num, Value(), b};
      if (is_float) {
        t.number = Value::number(std::strtod(num.c_str(), nullptr));  // beyond the double range: inf, as Python
      } else {
        auto v = int_from_digits(num);
        if (!v)
          syntax_error(label, where(b), fmt::format("integer literal of {} digits exceeds Python's limit of {} digits",
                                                     num.size(), kMaxIntLiteralDigits));
        t.number = *v;
      }
      out.push_back(std::move(t));
      continue;
    }
    if (c == '\'' || c == '"') {
      size_t b = i++;
      std::string value;
      while (i < src.size() && src[i] != c) {
        if (src[i] == '\\' && i + 1 < src.size()) {
          char e = src[++i];
          switch (e) {
            case 'n': value += '\n'; break;
            case 't': value += '\t'; break;
            case 'r': value += '\r'; break;
            case '\\': value += '\\'; break;
            case '\'': value += '\''; break;
            case '"': value += '"'; break;
            case '\n': break;
            default: value += '\\'; value += e;
          }
          ++i;
          continue;
        }
        value += src[i++];
      }
      if (i >= src.size()) syntax_error(label, where(b), "unterminated string literal");
      ++i;
      out.push_back({Token::Kind::kString, value, Value(), b});
      continue;
    }
    static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(",
                                 ")", "[", "]", "{", "}", ",", ".", ":", "|"};
    bool matched = false;
    for (const char* op : kOps) {
      size_t len = std::char_traits<char>::length(op);
      if (src.compare(i, len, op) == 0) {
        out.push_back({Token::Kind::kOp, op, Value(), i});
        i += len;
        matched = true;
        break;
      }
    }
    if (!matched) syntax_error(label, where(i), fmt::format("unexpected character '{}'", c));
  }
  out.push_back({Token::Kind::kEnd, "", Value(), src.size()});
  return out;
}

// ---- expression parser (jinja2 precedence) ----------------------------------------------------

class ExprParser {
 public:
  ExprParser(const std::string& src, const std::string& label, Position base)
      : label_(label), base_(base), tokens_(tokenize(src, label, base)) {}

  ExprPtr parse_expression() { return parse_conditional(); }

  // Recursion of the parser itself (parentheses, unary operators, nested literals).
  struct Nesting {
    ExprParser& p;
    explicit Nesting(ExprParser& parser) : p(parser) {
      if (++p.depth_ > 2 * kMaxExprDepth) p.fail(fmt::format("expression nested too deeply (more than {} levels)", kMaxExprDepth));
    }
    ~Nesting() { --p.depth_; }
  };
  // Every node with operands: the tree's height is bounded, so evaluating and freeing it (both
  // recursive) stay within the stack whatever the chain (a|f|f..., x[0][0]..., 1+1+...).
  ExprPtr sized(ExprPtr e) {
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
  const Token& peek(size_t k = 0) const { return tokens_[std::min(pos_ + k, tokens_.size() - 1)]; }
  bool at_end() const { return peek().kind == Token::Kind::kEnd; }
  bool is_op(const char* op, size_t k = 0) const { return peek(k).kind == Token::Kind::kOp && peek(k).text == op; }
  bool is_name(const char* n, size_t k = 0) const { return peek(k).kind == Token::Kind::kName && peek(k).text == n; }
  Token next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  [[noreturn]] void fail(const std::string& message) const {
    syntax_error(label_, Position{base_.line, base_.column + 2 + static_cast<int>(peek().offset)}, message);
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(fmt::format("expected '{}', found '{}'", op, at_end() ? "end of tag" : peek().text));
    next();
  }
  std::string expect_name() {
    if (peek().kind != Token::Kind::kName) fail(fmt::format("expected a name, found '{}'", at_end() ? "end of tag" : peek().text));
    return next().text;
  }
  void expect_end() {
    if (!at_end()) fail(fmt::format("unexpected '{}'", peek().text));
  }
  ExprPtr make(Expr::Kind kind) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = base_.line;
    e->column = base_.column + 2 + static_cast<int>(peek().offset);
    return e;
  }

  ExprPtr parse_conditional() {
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
  ExprPtr parse_or() {
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
  ExprPtr parse_and() {
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
  ExprPtr parse_not() {
    if (is_name("not")) {
      Nesting guard(*this);
      next();
      auto e = make(Expr::Kind::kNot);
      e->a = parse_not();
      return sized(std::move(e));
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
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
  ExprPtr binary(ExprPtr left, const std::string& op, ExprPtr right) {
    auto e = make(Expr::Kind::kBinary);
    e->name = op;
    e->a = std::move(left);
    e->b = std::move(right);
    return sized(std::move(e));
  }
  ExprPtr parse_math1() {
    auto left = parse_concat();
    while (is_op("+") || is_op("-")) {
      auto op = next().text;
      left = binary(std::move(left), op, parse_concat());
    }
    return left;
  }
  ExprPtr parse_concat() {
    auto left = parse_math2();
    while (is_op("~")) {
      next();
      left = binary(std::move(left), "~", parse_math2());
    }
    return left;
  }
  ExprPtr parse_math2() {
    auto left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      auto op = next().text;
      left = binary(std::move(left), op, parse_pow());
    }
    return left;
  }
  ExprPtr parse_pow() {
    auto left = parse_unary(true);
    while (is_op("**")) {
      next();
      left = binary(std::move(left), "**", parse_unary(true));
    }
    return left;
  }
  ExprPtr parse_unary(bool with_filter) {
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
  ExprPtr parse_primary() {
    const Token& t = peek();
    if (t.kind == Token::Kind::kString) {
      auto e = make(Expr::Kind::kLiteral);
      std::string s = next().text;
      while (peek().kind == Token::Kind::kString) s += next().text;  // adjacent literals concatenate
      e->literal = Value::string(s);
      return e;
    }
    if (t.kind == Token::Kind::kInt || t.kind == Token::Kind::kFloat) {
      auto e = make(Expr::Kind::kLiteral);
      auto tok = next();
      e->literal = tok.number;
      return e;
    }
    if (t.kind == Token::Kind::kName) {
      auto e = make(Expr::Kind::kLiteral);
      std::string n = t.text;
      if (n == "true" || n == "True") e->literal = Value::boolean(true);
      else if (n == "false" || n == "False") e->literal = Value::boolean(false);
      else if (n == "none" || n == "None") e->literal = Value::none();
      else {
        e->kind = Expr::Kind::kName;
        e->name = n;
      }
      next();
      return e;
    }
    if (is_op("(")) {
      next();
      if (is_op(")")) {  // empty tuple
        next();
        auto e = make(Expr::Kind::kList);
        return e;
      }
      auto first = parse_expression();
      if (is_op(",")) {  // tuple -> list
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
    if (is_op("[")) {
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
    if (is_op("{")) {
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
    fail(at_end() ? "unexpected end of expression" : fmt::format("unexpected '{}'", t.text));
  }
  void parse_call_args(Expr& e) {
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
  ExprPtr parse_postfix(ExprPtr node) {
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
        node = sized(std::move(e));
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
  ExprPtr parse_filter(ExprPtr target) {
    auto e = make(Expr::Kind::kFilter);
    std::string name = expect_name();
    while (is_op(".")) {  // dotted filter names are not used by templates; keep the error clear
      next();
      name += "." + expect_name();
    }
    if (!is_known_filter(name)) fail(fmt::format("no filter named '{}'", name));
    e->name = name;
    e->a = std::move(target);
    if (is_op("(")) parse_call_args(*e);
    return sized(std::move(e));
  }
  ExprPtr parse_filters(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        next();
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        next();
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
        } else if (!at_end() && (peek().kind == Token::Kind::kString || peek().kind == Token::Kind::kInt ||
                                 peek().kind == Token::Kind::kFloat ||
                                 (peek().kind == Token::Kind::kName && !is_name("and") && !is_name("or") && !is_name("else") &&
                                  !is_name("if") && !is_name("is") && !is_name("in") && !is_name("not")))) {
          e->args.push_back(parse_primary());  // "is divisibleby 3", "is sameas none"
        }
        node = sized(std::move(e));
      } else {
        return node;
      }
    }
  }

  std::string label_;
  Position base_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// ---- statements ---------------------------------------------------------------------------------

class TemplateParser {
 public:
  TemplateParser(const std::string& src, const std::string& label) : label_(label), segments_(split_segments(src, label)) {}

  Body parse() {
    Body body;
    std::string end = parse_body(body, {});
    if (!end.empty()) fail_at(segments_[pos_ - 1], fmt::format("unexpected '{{% {} %}}'", end));
    return body;
  }

 private:
  [[noreturn]] void fail_at(const Segment& s, const std::string& message) const {
    syntax_error(label_, Position{s.line, s.column}, message);
  }
  static std::string first_word(const std::string& content) {
    size_t b = content.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = b;
    while (e < content.size() && (std::isalnum(static_cast<unsigned char>(content[e])) || content[e] == '_')) ++e;
    return content.substr(b, e - b);
  }

  // Parses nodes until a tag whose first word is in `stops`; returns that word ("" at the end).
  std::string parse_body(Body& body, const std::vector<std::string>& stops) {
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(depth) { ++d; }
      ~Depth() { --d; }
    } guard(depth_);
    if (depth_ > kMaxBlockDepth && pos_ > 0)
      fail_at(segments_[pos_ - 1], fmt::format("blocks nested too deeply (more than {} levels)", kMaxBlockDepth));
    while (pos_ < segments_.size()) {
      const Segment& s = segments_[pos_++];
      if (s.kind == Segment::Kind::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->text = s.content;
        body.push_back(std::move(n));
        continue;
      }
      if (s.kind == Segment::Kind::kPrint) {
        ExprParser p(s.content, label_, {s.line, s.column});
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kPrint;
        n->line = s.line;
        n->expr = p.parse_expression();
        p.expect_end();
        body.push_back(std::move(n));
        continue;
      }
      std::string word = first_word(s.content);
      if (std::find(stops.begin(), stops.end(), word) != stops.end()) return word;
      body.push_back(parse_statement(s, word));
    }
    if (!stops.empty()) {
      const Segment& last = segments_.empty() ? Segment{Segment::Kind::kText, "", 1, 1} : segments_.back();
      fail_at(last, fmt::format("unexpected end of template, expected '{{% {} %}}'", stops.back()));
    }
    return "";
  }

  NodePtr parse_statement(const Segment& s, const std::string& word) {
    ExprParser p(s.content, label_, {s.line, s.column});
    p.next();  // the keyword
    auto n = std::make_unique<Node>();
    n->line = s.line;
    n->column = s.column;
    if (word == "if") {
      n->kind = Node::Kind::kIf;
      auto cond = p.parse_expression();
      p.expect_end();
      while (true) {
        Body branch;
        std::string end = parse_body(branch, {"elif", "else", "endif"});
        n->branches.emplace_back(std::move(cond), std::move(branch));
        const Segment& tag = segments_[pos_ - 1];
        if (end == "endif") break;
        ExprParser q(tag.content, label_, {tag.line, tag.column});
        q.next();
        if (end == "elif") {
          cond = q.parse_expression();
          q.expect_end();
        } else {
          q.expect_end();
          Body else_body;
          parse_body(else_body, {"endif"});
          n->branches.emplace_back(nullptr, std::move(else_body));
          break;
        }
      }
    } else if (word == "for") {
      n->kind = Node::Kind::kFor;
      n->targets.push_back(p.expect_name());
      while (p.is_op(",")) {
        p.next();
        n->targets.push_back(p.expect_name());
      }
      if (!p.is_name("in")) p.fail("expected 'in' in for loop");
      p.next();
      n->expr = p.parse_or();  // no conditional here: "if" filters the loop
      if (p.is_name("if")) {
        p.next();
        n->condition = p.parse_or();
      }
      if (p.is_name("recursive")) p.fail("recursive loops are not supported");
      p.expect_end();
      std::string end = parse_body(n->body, {"else", "endfor"});
      if (end == "else") parse_body(n->else_body, {"endfor"});
    } else if (word == "set") {
      std::string first = p.expect_name();
      if (p.is_op(".")) {
        p.next();
        n->kind = Node::Kind::kSet;
        n->targets.push_back(first);
        n->attr = p.expect_name();
      } else {
        n->targets.push_back(first);
        while (p.is_op(",")) {
          p.next();
          n->targets.push_back(p.expect_name());
        }
        n->kind = Node::Kind::kSet;
      }
      if (p.at_end() && n->attr.empty() && n->targets.size() == 1) {
        n->kind = Node::Kind::kSetBlock;
        parse_body(n->body, {"endset"});
        return n;
      }
      if (p.at_end() || p.is_op("|")) {  // {% set x | filter %}...{% endset %}
        n->kind = Node::Kind::kSetBlock;
        if (p.is_op("|")) {
          p.next();
          n->expr = p.parse_filter(nullptr);
          while (p.is_op("|")) {
            p.next();
            n->expr = p.parse_filter(std::move(n->expr));
          }
        }
        p.expect_end();
        parse_body(n->body, {"endset"});
        return n;
      }
      p.expect_op("=");
      n->expr = p.parse_expression();
      if (p.is_op(",")) {  // set a, b = 1, 2
        auto list = p.make(Expr::Kind::kList);
        list->args.push_back(std::move(n->expr));
        while (p.is_op(",")) {
          p.next();
          list->args.push_back(p.parse_expression());
        }
        n->expr = std::move(list);
      }
      p.expect_end();
    } else if (word == "macro") {
      n->kind = Node::Kind::kMacro;
      n->targets.push_back(p.expect_name());
      parse_params(p, *n);
      p.expect_end();
      parse_body(n->body, {"endmacro"});
    } else if (word == "call") {
      n->kind = Node::Kind::kCallBlock;
      if (p.is_op("(")) parse_params(p, *n);
      n->expr = p.parse_expression();
      if (n->expr->kind != Expr::Kind::kCall) p.fail("expected a macro call after 'call'");
      p.expect_end();
      parse_body(n->body, {"endcall"});
    } else if (word == "filter") {
      n->kind = Node::Kind::kFilterBlock;
      n->expr = p.parse_filter(nullptr);
      while (p.is_op("|")) {
        p.next();
        n->expr = p.parse_filter(std::move(n->expr));
      }
      p.expect_end();
      parse_body(n->body, {"endfilter"});
    } else if (word == "generation") {
      n->kind = Node::Kind::kGeneration;
      p.expect_end();
      parse_body(n->body, {"endgeneration"});
    } else if (word == "break" || word == "continue") {
      n->kind = word == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      p.expect_end();
    } else if (word.empty()) {
      fail_at(s, "empty tag");
    } else {
      fail_at(s, fmt::format("unknown tag '{}'", word));
    }
    return n;
  }

  void parse_params(ExprParser& p, Node& n) {
    p.expect_op("(");
    while (!p.is_op(")")) {
      std::string name = p.expect_name();
      ExprPtr fallback;
      if (p.is_op("=")) {
        p.next();
        fallback = p.parse_expression();
      }
      n.params.emplace_back(name, std::move(fallback));
      if (!p.is_op(",")) break;
      p.next();
    }
    p.expect_op(")");
  }

  std::string label_;
  std::vector<Segment> segments_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(const std::string& source, const std::string& label) { return TemplateParser(source, label).parse(); }

}  // namespace automodel::tokenizer::jinja
