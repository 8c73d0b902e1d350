// Statements: segments -> Body, one node per {% tag %} block; expressions go to ExprParser.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "automodel/tokenizer/jinja/expr_parser.h"
#include "automodel/tokenizer/jinja/lexer.h"
#include "automodel/tokenizer/jinja/limits.h"
#include "automodel/tokenizer/jinja/parser.h"

namespace automodel::tokenizer::jinja {
namespace {

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
        body.push_back(parse_print(s));
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

  NodePtr parse_print(const Segment& s) {
    ExprParser p(s.content, label_, {s.line, s.column});
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::kPrint;
    n->line = s.line;
    n->expr = p.parse_expression();
    p.expect_end();
    return n;
  }

  // The tag's body is tokenized before its keyword is checked, so a lexical error wins over
  // "unknown tag".
  NodePtr parse_statement(const Segment& s, const std::string& word) {
    ExprParser p(s.content, label_, {s.line, s.column});
    p.next();  // the keyword
    auto n = std::make_unique<Node>();
    n->line = s.line;
    n->column = s.column;
    if (word == "if") {
      parse_if(p, *n);
    } else if (word == "for") {
      parse_for(p, *n);
    } else if (word == "set") {
      parse_set(p, *n);
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
      n->expr = parse_filter_chain(p);
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

  void parse_if(ExprParser& p, Node& n) {
    n.kind = Node::Kind::kIf;
    auto cond = p.parse_expression();
    p.expect_end();
    while (true) {
      Body branch;
      std::string end = parse_body(branch, {"elif", "else", "endif"});
      n.branches.emplace_back(std::move(cond), std::move(branch));
      const Segment& tag = segments_[pos_ - 1];
      if (end == "endif") return;
      ExprParser q(tag.content, label_, {tag.line, tag.column});
      q.next();
      if (end == "else") {
        q.expect_end();
        Body else_body;
        parse_body(else_body, {"endif"});
        n.branches.emplace_back(nullptr, std::move(else_body));
        return;
      }
      cond = q.parse_expression();
      q.expect_end();
    }
  }

  void parse_for(ExprParser& p, Node& n) {
    n.kind = Node::Kind::kFor;
    n.targets.push_back(p.expect_name());
    while (p.is_op(",")) {
      p.next();
      n.targets.push_back(p.expect_name());
    }
    if (!p.is_name("in")) p.fail("expected 'in' in for loop");
    p.next();
    n.expr = p.parse_or();  // no conditional here: "if" filters the loop
    if (p.is_name("if")) {
      p.next();
      n.condition = p.parse_or();
    }
    if (p.is_name("recursive")) p.fail("recursive loops are not supported");
    p.expect_end();
    std::string end = parse_body(n.body, {"else", "endfor"});
    if (end == "else") parse_body(n.else_body, {"endfor"});
  }

  // {% set x = v %}, {% set a, b = 1, 2 %}, {% set ns.attr = v %}, or a block:
  // {% set x %}...{% endset %} and {% set x | filter %}...{% endset %}.
  void parse_set(ExprParser& p, Node& n) {
    n.kind = Node::Kind::kSet;
    n.targets.push_back(p.expect_name());
    if (p.is_op(".")) {
      p.next();
      n.attr = p.expect_name();
    } else {
      while (p.is_op(",")) {
        p.next();
        n.targets.push_back(p.expect_name());
      }
    }
    if (p.at_end() || p.is_op("|")) {
      n.kind = Node::Kind::kSetBlock;
      if (p.is_op("|")) {
        p.next();
        n.expr = parse_filter_chain(p);
      }
      p.expect_end();
      parse_body(n.body, {"endset"});
      return;
    }
    p.expect_op("=");
    n.expr = p.parse_expression();
    if (p.is_op(",")) {  // set a, b = 1, 2
      auto list = p.make(Expr::Kind::kList);
      list->args.push_back(std::move(n.expr));
      while (p.is_op(",")) {
        p.next();
        list->args.push_back(p.parse_expression());
      }
      n.expr = std::move(list);
    }
    p.expect_end();
  }

  // "f(args) | g | ..." after {% filter or {% set x |: the first filter has no target yet.
  static ExprPtr parse_filter_chain(ExprParser& p) {
    ExprPtr chain = p.parse_filter(nullptr);
    while (p.is_op("|")) {
      p.next();
      chain = p.parse_filter(std::move(chain));
    }
    return chain;
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
