#include "automodel/tokenizer/pre_tokenizer.h"

#include <array>
#include <functional>

#include "automodel/common/error.h"
#include "automodel/tokenizer/json_util.h"
#include "automodel/tokenizer/regex.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {
namespace {

// The GPT-2 pre-tokenization pattern (ByteLevel with use_regex).
const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  AM_FAIL("[tokenizer] {}: unknown split behavior '{}'; expected Removed, Isolated, MergedWithPrevious, "
          "MergedWithNext or Contiguous", where, name);
}

// Splits `piece` at `matches` (the delimiters) following HF's SplitDelimiterBehavior.
void split_piece(const Piece& piece, std::vector<std::pair<size_t, size_t>> matches, Behavior behavior, bool invert,
                 std::vector<Piece>& out) {
  const std::string& text = piece.text;
  // Mark each byte range as delimiter (true) or content, covering the whole text.
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> spans;
  size_t last = 0;
  for (auto [b, e] : matches) {
    if (b > last) spans.push_back({{last, b}, invert});
    spans.push_back({{b, e}, !invert});
    last = e;
  }
  if (last < text.size()) spans.push_back({{last, text.size()}, invert});

  std::vector<std::pair<size_t, size_t>> result;
  switch (behavior) {
    case Behavior::kRemoved:
      for (auto& [r, delim] : spans)
        if (!delim) result.push_back(r);
      break;
    case Behavior::kIsolated:
      for (auto& [r, delim] : spans) result.push_back(r);
      break;
    case Behavior::kMergedWithPrevious: {
      bool prev_delim = false;
      for (auto& [r, delim] : spans) {
        if (delim && !result.empty() && !prev_delim) result.back().second = r.second;
        else result.push_back(r);
        prev_delim = delim;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool prev_delim = false;
      for (auto& [r, delim] : spans) {
        if (!delim && prev_delim && !result.empty()) result.back().second = r.second;
        else result.push_back(r);
        prev_delim = delim;
      }
      break;
    }
    case Behavior::kContiguous: {
      bool prev_delim = false;
      for (auto& [r, delim] : spans) {
        if (delim && prev_delim && !result.empty()) result.back().second = r.second;
        else result.push_back(r);
        prev_delim = delim;
      }
      break;
    }
  }
  for (auto [b, e] : result)
    if (e > b) out.push_back({text.substr(b, e - b), piece.at_input_start && b == 0});
}

// Byte ranges of code points satisfying `pred`.
std::vector<std::pair<size_t, size_t>> char_matches(const std::string& text, const std::function<bool(char32_t)>& pred) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = utf8_sequence_length(static_cast<unsigned char>(text[i]));
    auto cps = decode_utf8(std::string_view(text).substr(i, len));
    if (!cps.empty() && pred(cps[0])) out.emplace_back(i, i + len);
    i += len;
  }
  return out;
}

class RegexSplit : public PreTokenizer {
 public:
  RegexSplit(const std::string& pattern, Behavior behavior, bool invert, const std::string& where)
      : regex_(pattern, where), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const auto& p : pieces) split_piece(p, regex_.find_all(p.text), behavior_, invert_, out);
    pieces = std::move(out);
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

class CharSplit : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> pred, Behavior behavior) : pred_(std::move(pred)), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const auto& p : pieces) split_piece(p, char_matches(p.text, pred_), behavior_, false, out);
    pieces = std::move(out);
  }

 private:
  std::function<bool(char32_t)> pred_;
  Behavior behavior_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern, where);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> split;
    for (auto p : pieces) {
      if (add_prefix_space_ && !p.text.starts_with(' ')) p.text.insert(0, " ");
      if (regex_) split_piece(p, regex_->find_all(p.text), Behavior::kIsolated, false, split);
      else split.push_back(std::move(p));
    }
    const auto& table = byte_to_unicode();
    for (auto& p : split) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (unsigned char c : p.text) mapped += table[c];
      p.text = std::move(mapped);
    }
    pieces = std::move(split);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Metaspace : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (auto p : pieces) {
      std::string replaced;
      for (char c : p.text) {
        if (c == ' ') replaced += replacement_;
        else replaced += c;
      }
      bool prepend = prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && p.at_input_start);
      if (prepend && !replaced.starts_with(replacement_)) replaced.insert(0, replacement_);
      p.text = std::move(replaced);
      if (!split_) {
        if (!p.text.empty()) out.push_back(std::move(p));
        continue;
      }
      std::vector<std::pair<size_t, size_t>> matches;
      for (size_t pos = p.text.find(replacement_); pos != std::string::npos; pos = p.text.find(replacement_, pos + 1))
        matches.emplace_back(pos, pos + replacement_.size());
      split_piece(p, matches, Behavior::kMergedWithNext, false, out);
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& s : steps_) s->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

bool is_bert_punctuation(char32_t c) {
  return (c < 128 && std::ispunct(static_cast<int>(c))) || is_punctuation(c);
}

}  // namespace

const std::vector<std::string>& byte_to_unicode() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = encode_utf8(printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++));
    }
    return t;
  }();
  return table;
}

int unicode_to_byte(char32_t cp) {
  static const std::array<int, 512> inverse = [] {
    std::array<int, 512> inv{};
    inv.fill(-1);
    const auto& table = byte_to_unicode();
    for (int b = 0; b < 256; ++b) inv[decode_utf8(table[b])[0]] = b;
    return inv;
  }();
  return cp < 512 ? inverse[cp] : -1;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  auto type = require_string(spec, "type", where);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(field_or(spec, "add_prefix_space", true, where), field_or(spec, "use_regex", true, where),
                                       where);
  if (type == "Split")
    return std::make_unique<RegexSplit>(pattern_to_regex(require_field(spec, "pattern", where), where + ".pattern"),
                                        parse_behavior(require_string(spec, "behavior", where), where),
                                        field_or(spec, "invert", false, where), where);
  if (type == "Metaspace") {
    std::string scheme = field_or<std::string>(spec, "prepend_scheme", "", where);
    auto prepend = Metaspace::Prepend::kAlways;
    if (scheme.empty()) prepend = field_or(spec, "add_prefix_space", true, where) ? Metaspace::Prepend::kAlways : Metaspace::Prepend::kNever;
    else if (scheme == "first") prepend = Metaspace::Prepend::kFirst;
    else if (scheme == "never") prepend = Metaspace::Prepend::kNever;
    else AM_CHECK(scheme == "always", "[tokenizer] {}.prepend_scheme: expected always, first or never, found '{}'", where, scheme);
    return std::make_unique<Metaspace>(field_or<std::string>(spec, "replacement", "\xE2\x96\x81", where), prepend,
                                       field_or(spec, "split", true, where));
  }
  if (type == "Whitespace")
    return std::make_unique<RegexSplit>(R"(\w+|[^\w\s]+)", Behavior::kRemoved, /*invert=*/true, where);
  if (type == "CharDelimiterSplit") {
    auto delimiter = decode_utf8(require_string(spec, "delimiter", where));
    AM_CHECK(delimiter.size() == 1, "[tokenizer] {}.delimiter must be one character", where);
    char32_t d = delimiter[0];
    return std::make_unique<CharSplit>([d](char32_t c) { return c == d; }, Behavior::kRemoved);
  }
  if (type == "WhitespaceSplit") return std::make_unique<CharSplit>(is_whitespace, Behavior::kRemoved);
  if (type == "Digits")
    return std::make_unique<CharSplit>(is_numeric, field_or(spec, "individual_digits", false, where) ? Behavior::kIsolated
                                                                                                      : Behavior::kContiguous);
  if (type == "Punctuation")
    return std::make_unique<CharSplit>(is_bert_punctuation,
                                       parse_behavior(field_or<std::string>(spec, "behavior", "Isolated", where), where));
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(std::make_unique<CharSplit>(is_whitespace, Behavior::kRemoved));
    steps.push_back(std::make_unique<CharSplit>(is_bert_punctuation, Behavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    const auto& list = require_list(spec, "pretokenizers", where);
    AM_CHECK(list.is_array(), "[tokenizer] {}.pretokenizers: expected a list", where);
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  throw NotSupportedError(fmt::format(
      "[tokenizer] {}: unknown pre_tokenizer type '{}'; supported: ByteLevel, Split, Metaspace, Whitespace, "
      "WhitespaceSplit, CharDelimiterSplit, Digits, Punctuation, BertPreTokenizer, Sequence", where, type));
}

}  // namespace automodel::tokenizer
