#include "automodel/tokenizer/jinja/lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/arithmetic.h"
#include "automodel/tokenizer/jinja/limits.h"

namespace automodel::tokenizer::jinja {
namespace {

constexpr size_t npos = std::string::npos;

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)); }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

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
  return npos;
}

void rstrip_all(std::string& s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
}

// A tag's keyword without the blanks around it ("raw", "endraw").
std::string trim_tag_space(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
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

// One pass over the source; whitespace control needs what the previous tag's close asked for,
// so that state lives between tags.
class SegmentSplitter {
 public:
  SegmentSplitter(const std::string& src, const std::string& label) : src_(src), label_(label), position_{src} {}

  std::vector<Segment> split() {
    while (pos_ < src_.size()) {
      size_t open = find_open();
      std::string chunk = src_.substr(pos_, open == npos ? npos : open - pos_);
      bool line_starting = strip_after_tag(chunk);
      if (open == npos) {
        text_ += chunk;
        break;
      }
      read_tag(open, chunk, line_starting);
    }
    flush_text();
    return std::move(out_);
  }

 private:
  size_t find_open() const {
    for (size_t i = pos_; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return npos;
  }

  // Applies the previous tag's "-" / trim_blocks to the text after it. jinja2's lexer: a line
  // "starts" after a newline, at the template start, or when the previous tag consumed text ending
  // in a newline (trim_blocks, or "-" whitespace stripping).
  bool strip_after_tag(std::string& chunk) {
    bool line_starting = pos_ == 0;
    if (strip_next_) {
      size_t k = 0;
      while (k < chunk.size() && is_space(chunk[k])) ++k;
      line_starting = k > 0 && chunk[k - 1] == '\n';
      chunk.erase(0, k);
    } else if (trim_newline_ && !chunk.empty() && chunk[0] == '\n') {
      chunk.erase(0, 1);
      line_starting = true;
    } else if (trim_newline_ && chunk.size() >= 2 && chunk[0] == '\r' && chunk[1] == '\n') {
      chunk.erase(0, 2);
      line_starting = true;
    }
    strip_next_ = trim_newline_ = false;
    return line_starting;
  }

  // The opening tag's "-", or lstrip_blocks: drop spaces/tabs between the line start and a block
  // or comment tag ("+" keeps them).
  static void strip_before_tag(std::string& chunk, char type, char modifier, bool line_starting) {
    if (modifier == '-') {
      rstrip_all(chunk);
    } else if (modifier != '+' && (type == '%' || type == '#')) {
      size_t newline = chunk.find_last_of('\n');
      size_t from = newline == npos ? 0 : newline + 1;
      if ((newline != npos || line_starting) && chunk.find_first_not_of(" \t", from) == npos) chunk.erase(from);
    }
  }

  void read_tag(size_t open, std::string& chunk, bool line_starting) {
    char type = src_[open + 1];
    char modifier = open + 2 < src_.size() ? src_[open + 2] : 0;
    strip_before_tag(chunk, type, modifier, line_starting);
    text_ += chunk;
    Position p = position_.at(open);
    size_t body_start = open + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
    size_t end = type == '#' ? src_.find("#}", body_start) : find_close(src_, body_start, type == '{' ? "}}" : "%}");
    if (end == npos)
      syntax_error(label_, p, type == '{' ? "unclosed '{{' (missing '}}')" : type == '%' ? "unclosed '{%' (missing '%}')"
                                                                                         : "unclosed comment (missing '#}')");
    size_t body_end = end;
    char close_modifier = end > body_start ? src_[end - 1] : 0;
    if (close_modifier == '-' || (close_modifier == '+' && type != '{')) --body_end;
    std::string body = src_.substr(body_start, body_end - body_start);
    pos_ = end + 2;
    strip_next_ = close_modifier == '-';
    trim_newline_ = !strip_next_ && close_modifier != '+' && type != '{';  // trim_blocks
    if (type == '#') return;
    if (type == '%' && trim_tag_space(body) == "raw") {
      copy_raw(p);
      return;
    }
    flush_text();
    out_.push_back({type == '{' ? Segment::Kind::kPrint : Segment::Kind::kTag, body, p.line, p.column});
  }

  // {% raw %} ... {% endraw %}: the text between is copied literally.
  void copy_raw(Position raw_tag) {
    size_t search = pos_;
    while ((search = src_.find("{%", search)) != npos) {
      size_t b = search + 2;
      if (b < src_.size() && (src_[b] == '-' || src_[b] == '+')) ++b;
      size_t close_at = src_.find("%}", b);
      if (close_at == npos) break;
      std::string inner = src_.substr(b, close_at - b);
      if (!inner.empty() && (inner.back() == '-' || inner.back() == '+')) inner.pop_back();
      if (trim_tag_space(inner) == "endraw") {
        std::string raw = src_.substr(pos_, search - pos_);
        if (trim_newline_ && !raw.empty() && raw[0] == '\n') raw.erase(0, 1);
        if (src_[search + 2] == '-') rstrip_all(raw);
        text_ += raw;
        strip_next_ = src_[close_at - 1] == '-';
        trim_newline_ = !strip_next_;
        pos_ = close_at + 2;
        return;
      }
      search = close_at;
    }
    syntax_error(label_, raw_tag, "unclosed {% raw %} (missing {% endraw %})");
  }

  void flush_text() {
    if (!text_.empty()) out_.push_back({Segment::Kind::kText, text_, 0, 0});
    text_.clear();
  }

  const std::string& src_;
  const std::string& label_;
  PositionCursor position_;
  std::vector<Segment> out_;
  std::string text_;          // text since the last print/tag segment (comments and raw join it)
  bool strip_next_ = false;   // "-" on the previous tag's close
  bool trim_newline_ = false;
  size_t pos_ = 0;
};

class TokenScanner {
 public:
  TokenScanner(const std::string& src, const std::string& label, Position base) : src_(src), label_(label), base_(base) {}

  std::vector<Token> scan() {
    std::vector<Token> out;
    while (i_ < src_.size()) {
      char c = src_[i_];
      if (is_space(c)) ++i_;
      else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') out.push_back(name());
      else if (is_digit(c)) out.push_back(number_literal());
      else if (c == '\'' || c == '"') out.push_back(string_literal(c));
      else out.push_back(op());
    }
    out.push_back({Token::Kind::kEnd, "", Value(), src_.size()});
    return out;
  }

 private:
  // The body starts after the two-character delimiter.
  Position where(size_t offset) const { return Position{base_.line, base_.column + 2 + static_cast<int>(offset)}; }
  bool digit_at(size_t k) const { return k < src_.size() && is_digit(src_[k]); }
  void skip_digits() {
    while (i_ < src_.size() && (is_digit(src_[i_]) || src_[i_] == '_')) ++i_;
  }

  Token name() {
    size_t b = i_;
    while (i_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[i_])) || src_[i_] == '_')) ++i_;
    return {Token::Kind::kName, src_.substr(b, i_ - b), Value(), b};
  }

  Token number_literal() {
    size_t b = i_;
    skip_digits();
    bool is_float = false;
    if (i_ + 1 < src_.size() && src_[i_] == '.' && digit_at(i_ + 1)) {
      is_float = true;
      ++i_;
      skip_digits();
    }
    // An exponent needs digits ("1e" is the int 1 followed by the name e, as jinja2 lexes it).
    if (i_ < src_.size() && (src_[i_] == 'e' || src_[i_] == 'E')) {
      size_t k = i_ + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (digit_at(k)) {
        is_float = true;
        i_ = k;
        skip_digits();
      }
    }
    std::string num;
    for (char d : src_.substr(b, i_ - b))
      if (d != '_') num += d;
    Token t{is_float ? Token::Kind::kFloat : Token::Kind::kInt, num, Value(), b};
    if (is_float) {
      t.number = Value::number(std::strtod(num.c_str(), nullptr));  // beyond the double range: inf, as Python
    } else {
      auto v = int_from_digits(num);
      if (!v)
        syntax_error(label_, where(b), fmt::format("integer literal of {} digits exceeds Python's limit of {} digits",
                                                   num.size(), kMaxIntLiteralDigits));
      t.number = *v;
    }
    return t;
  }

  Token string_literal(char quote) {
    size_t b = i_++;
    std::string value;
    while (i_ < src_.size() && src_[i_] != quote) {
      if (src_[i_] == '\\' && i_ + 1 < src_.size()) {
        char e = src_[++i_];
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
        ++i_;
        continue;
      }
      value += src_[i_++];
    }
    if (i_ >= src_.size()) syntax_error(label_, where(b), "unterminated string literal");
    ++i_;
    return {Token::Kind::kString, value, Value(), b};
  }

  // Longest operators first, so "//" is not read as two "/".
  Token op() {
    static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(",
                                 ")", "[", "]", "{", "}", ",", ".", ":", "|"};
    for (const char* op : kOps) {
      size_t len = std::char_traits<char>::length(op);
      if (src_.compare(i_, len, op) == 0) {
        Token t{Token::Kind::kOp, op, Value(), i_};
        i_ += len;
        return t;
      }
    }
    syntax_error(label_, where(i_), fmt::format("unexpected character '{}'", src_[i_]));
  }

  const std::string& src_;
  const std::string& label_;
  Position base_;
  size_t i_ = 0;
};

}  // namespace

[[noreturn]] void syntax_error(const std::string& label, Position p, const std::string& message) {
  throw Error(fmt::format("[chat template] {}: syntax error at line {}, column {}: {}", label, p.line, p.column, message));
}

std::vector<Segment> split_segments(const std::string& src, const std::string& label) {
  return SegmentSplitter(src, label).split();
}

std::vector<Token> tokenize(const std::string& src, const std::string& label, Position base) {
  return TokenScanner(src, label, base).scan();
}

}  // namespace automodel::tokenizer::jinja
