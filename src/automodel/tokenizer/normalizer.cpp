#include "automodel/tokenizer/normalizer.h"

#include <vector>

#include "automodel/common/error.h"
#include "automodel/tokenizer/json_util.h"
#include "automodel/tokenizer/pre_tokenizer.h"
#include "automodel/tokenizer/regex.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {

std::string pattern_to_regex(const nlohmann::json& pattern, const std::string& where) {
  AM_CHECK(pattern.is_object(), "[tokenizer] {}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}", where);
  if (pattern.contains("String")) return regex_escape(require_string(pattern, "String", where));
  if (pattern.contains("Regex")) return require_string(pattern, "Regex", where);
  AM_FAIL("[tokenizer] {}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}, found {}", where, pattern.dump());
}

namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  std::string normalize(std::string_view text) const override { return normalize_unicode(text, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override { return to_lower(text); }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view text) const override {
    auto cps = decode_utf8(text);
    size_t b = 0, e = cps.size();
    if (left_)
      while (b < e && is_whitespace(cps[b])) ++b;
    if (right_)
      while (e > b && is_whitespace(cps[e - 1])) --e;
    std::string out;
    for (size_t i = b; i < e; ++i) append_utf8(out, cps[i]);
    return out;
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override {
    std::string out;
    for (char32_t c : decode_utf8(text))
      if (!is_combining_mark(c)) append_utf8(out, c);
    return out;
  }
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(const std::string& pattern, std::string content, const std::string& where)
      : regex_(pattern, where), content_(std::move(content)) {}
  std::string normalize(std::string_view text) const override {
    std::string out;
    size_t last = 0;
    for (auto [b, e] : regex_.find_all(text)) {
      out.append(text.substr(last, b - last));
      out += content_;
      last = e;
    }
    out.append(text.substr(last));
    return out;
  }

 private:
  Regex regex_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string_view text) const override {
    return text.empty() ? std::string() : prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, std::optional<bool> strip_accents, bool lowercase)
      : clean_(clean), chinese_(chinese), strip_accents_(strip_accents.value_or(lowercase)), lowercase_(lowercase) {}
  std::string normalize(std::string_view text) const override {
    std::string out;
    for (char32_t c : decode_utf8(text)) {
      if (clean_) {
        if (c == 0 || c == 0xFFFD || (is_control(c) && c != '\t' && c != '\n' && c != '\r')) continue;
        if (is_whitespace(c)) c = ' ';
      }
      if (chinese_ && is_cjk(c)) {
        out += ' ';
        append_utf8(out, c);
        out += ' ';
        continue;
      }
      append_utf8(out, c);
    }
    if (strip_accents_) out = StripAccentsNormalizer().normalize(normalize_unicode(out, NormalForm::kNFD));
    if (lowercase_) out = to_lower(out);
    return out;
  }

 private:
  bool clean_, chinese_, strip_accents_, lowercase_;
};

// SentencePiece's NMT normalisation: drop control characters, map some spaces to ' '.
class NmtNormalizer : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override {
    std::string out;
    for (char32_t c : decode_utf8(text)) {
      if ((c >= 0x0001 && c <= 0x0008) || c == 0x000B || (c >= 0x000E && c <= 0x001F) || c == 0x007F || c == 0x008F ||
          c == 0x009F)
        continue;
      if (c == 0x0009 || c == 0x000A || c == 0x000C || c == 0x000D || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
          c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD)
        c = ' ';
      append_utf8(out, c);
    }
    return out;
  }
};

// Maps every byte to GPT-2's printable alphabet (the ByteLevel normalizer).
class ByteLevelNormalizer : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override {
    std::string out;
    for (unsigned char c : text) out += byte_to_unicode()[c];
    return out;
  }
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string_view text) const override {
    std::string out(text);
    for (const auto& s : steps_) out = s->normalize(out);
    return out;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  auto type = require_string(spec, "type", where);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(field_or(spec, "strip_left", true, where), field_or(spec, "strip_right", true, where));
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Replace")
    return std::make_unique<ReplaceNormalizer>(pattern_to_regex(require_field(spec, "pattern", where), where + ".pattern"),
                                               require_string(spec, "content", where), where);
  if (type == "Nmt") return std::make_unique<NmtNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(require_string(spec, "prepend", where));
  if (type == "BertNormalizer") {
    std::optional<bool> strip;
    if (spec.contains("strip_accents") && spec["strip_accents"].is_boolean()) strip = spec["strip_accents"].get<bool>();
    return std::make_unique<BertNormalizer>(field_or(spec, "clean_text", true, where),
                                            field_or(spec, "handle_chinese_chars", true, where), strip,
                                            field_or(spec, "lowercase", true, where));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    const auto& list = require_list(spec, "normalizers", where);
    AM_CHECK(list.is_array(), "[tokenizer] {}.normalizers: expected a list", where);
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  throw NotSupportedError(fmt::format(
      "[tokenizer] {}: unknown normalizer type '{}'; supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, "
      "Replace, Prepend, BertNormalizer, Nmt, ByteLevel, Sequence", where, type));
}

}  // namespace automodel::tokenizer
