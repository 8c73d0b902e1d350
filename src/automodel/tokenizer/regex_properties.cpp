#include "automodel/tokenizer/regex_properties.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "automodel/common/error.h"
#include "automodel/tokenizer/unicode.h"
#include "automodel/tokenizer/unicode_properties.h"

namespace automodel::tokenizer {
namespace {

CodePointRanges union_of(CodePointRanges a, const CodePointRanges& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  CodePointRanges out;
  for (auto [lo, hi] : a) {
    if (!out.empty() && out.back().second + 1 >= lo) out.back().second = std::max(out.back().second, hi);
    else out.emplace_back(lo, hi);
  }
  return out;
}

void append_range(std::string& out, char32_t lo, char32_t hi) {
  if (lo == hi) out += fmt::format("\\x{{{:X}}}", static_cast<uint32_t>(lo));
  else out += fmt::format("\\x{{{:X}}}-\\x{{{:X}}}", static_cast<uint32_t>(lo), static_cast<uint32_t>(hi));
}

// Class items for `ranges`. PCRE2 rejects surrogates in UTF mode; valid UTF-8 never holds them.
std::string class_items(const CodePointRanges& ranges) {
  std::string out;
  for (auto [lo, hi] : ranges) {
    if (hi < 0xD800 || lo > 0xDFFF) append_range(out, lo, hi);
    else {
      if (lo < 0xD800) append_range(out, lo, 0xD7FF);
      if (hi > 0xDFFF) append_range(out, 0xE000, hi);
    }
  }
  return out;
}

// Whether any inline group turns on case-insensitivity: a bare \p{..} then needs (?-i:...), as
// PCRE2 would case-fold the explicit ranges it becomes and Oniguruma does not fold it.
bool may_be_caseless(const std::string& p) {
  for (size_t j = 0; j + 1 < p.size(); ++j) {
    if (p[j] == '\\') {
      ++j;
      continue;
    }
    if (p[j] != '(' || p[j + 1] != '?') continue;
    for (size_t k = j + 2; k < p.size() && (std::isalpha(static_cast<unsigned char>(p[k])) || p[k] == '-'); ++k)
      if (p[k] == 'i') return true;
  }
  return false;
}

class Rewriter {
 public:
  Rewriter(const std::string& pattern, const std::string& where)
      : p_(pattern), where_(where), caseless_(may_be_caseless(pattern)) {}

  std::string run() {
    std::string out;
    while (i_ < p_.size()) {
      if (p_[i_] == '\\') {
        size_t start = i_;
        if (auto set = escape_set()) out += wrap(false, *set, "", /*bare=*/true);
        else out += p_.substr(start, i_ - start);
      } else if (p_[i_] == '[') {
        out += bracket_class();
      } else {
        out += p_[i_++];
      }
    }
    return out;
  }

 private:
  // At a backslash: the code point set of a property or shorthand escape (advancing past it), or
  // nullopt having advanced past an escape PCRE2 should see as written.
  std::optional<CodePointRanges> escape_set() {
    char c = i_ + 1 < p_.size() ? p_[i_ + 1] : '\0';
    if ((c == 'p' || c == 'P') && i_ + 2 < p_.size() && p_[i_ + 2] == '{') {
      size_t close = p_.find('}', i_ + 3);
      if (close != std::string::npos) {
        std::string name = p_.substr(i_ + 3, close - i_ - 3);
        bool negate = c == 'P';
        if (!name.empty() && name[0] == '^') {
          negate = !negate;
          name.erase(0, 1);
        }
        const CodePointRanges* ranges = property_ranges(name);
        AM_CHECK(ranges, "[tokenizer] {}: unknown Unicode property \\{}{{{}}} in regex pattern; expected a general "
                 "category (L, Lu, Letter, ...), a script (Han, Latin, ...), Any, Assigned or White_Space (pattern {})",
                 where_, c, p_.substr(i_ + 3, close - i_ - 3), p_);
        i_ = close + 1;
        return negate ? complement_ranges(*ranges) : *ranges;
      }
    }
    const CodePointRanges* shorthand = nullptr;
    static const CodePointRanges kHexDigit = {{'0', '9'}, {'A', 'F'}, {'a', 'f'}};
    switch (std::tolower(static_cast<unsigned char>(c))) {
      case 'd': shorthand = &digit_ranges(); break;
      case 'w': shorthand = &word_ranges(); break;
      case 's': shorthand = &space_ranges(); break;
      case 'h': shorthand = &kHexDigit; break;  // Oniguruma: hex digit (PCRE2: horizontal space)
      default: break;
    }
    if (shorthand) {
      i_ += 2;
      return std::isupper(static_cast<unsigned char>(c)) ? complement_ranges(*shorthand) : *shorthand;
    }
    // Any other escape: the backslash and the whole code point after it, unchanged.
    i_ += 1 + (i_ + 1 < p_.size() ? utf8_sequence_length(static_cast<unsigned char>(p_[i_ + 1])) : 0);
    return std::nullopt;
  }

  // At '[': the class rewritten with its property items as explicit ranges.
  std::string bracket_class() {
    size_t start = i_++;
    bool negated = i_ < p_.size() && p_[i_] == '^';
    if (negated) ++i_;
    std::string rest;
    CodePointRanges props;
    bool has_props = false;
    if (i_ < p_.size() && p_[i_] == ']') rest += p_[i_++];  // a leading ']' is literal
    while (i_ < p_.size() && p_[i_] != ']') {
      if (p_[i_] == '\\') {
        size_t at = i_;
        if (auto set = escape_set()) {
          props = union_of(std::move(props), *set);
          has_props = true;
        } else {
          rest += p_.substr(at, i_ - at);
        }
      } else if (p_.compare(i_, 2, "[:") == 0 && p_.find(":]", i_ + 2) != std::string::npos) {
        size_t end = p_.find(":]", i_ + 2) + 2;  // POSIX class, left to PCRE2
        rest += p_.substr(i_, end - i_);
        i_ = end;
      } else {
        size_t len = utf8_sequence_length(static_cast<unsigned char>(p_[i_]));
        rest += p_.substr(i_, len);
        i_ += len;
      }
    }
    if (i_ >= p_.size()) return p_.substr(start);  // unterminated: PCRE2 reports it
    ++i_;
    if (!has_props) return p_.substr(start, i_ - start);
    return wrap(negated, props, rest, /*bare=*/false);
  }

  // A class of `props` plus the literal items `rest`, negated or not. Oniguruma case-folds a
  // whole bracket class under (?i) (as PCRE2 does with our ranges), but never a bare \p{..}.
  std::string wrap(bool negated, const CodePointRanges& props, const std::string& rest, bool bare) const {
    std::string items = class_items(props);
    if (items.empty() && rest.empty()) return negated ? "(?s:.)" : "(?!)";  // e.g. \P{Any}
    std::string cls = std::string(negated ? "[^" : "[") + items + rest + "]";
    return bare && caseless_ ? "(?-i:" + cls + ")" : cls;
  }

  const std::string& p_;
  const std::string& where_;
  bool caseless_;
  size_t i_ = 0;
};

}  // namespace

std::string expand_unicode_properties(const std::string& pattern, const std::string& where) {
  return Rewriter(pattern, where).run();
}

}  // namespace automodel::tokenizer
