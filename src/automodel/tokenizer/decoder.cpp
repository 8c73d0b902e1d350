#include "automodel/tokenizer/decoder.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/tokenizer/json_util.h"
#include "automodel/tokenizer/pre_tokenizer.h"
#include "automodel/tokenizer/regex.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {
namespace {

class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      for (char32_t c : decode_utf8(t)) {
        int b = unicode_to_byte(c);
        if (b >= 0) bytes += static_cast<char>(b);
        else append_utf8(bytes, c);
      }
    }
    tokens = {utf8_lossy(bytes)};
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const auto& t = tokens[i];
      for (size_t p = 0; p < t.size();) {
        if (t.compare(p, replacement_.size(), replacement_) == 0) {
          out += ' ';
          p += replacement_.size();
        } else {
          out += t[p++];
        }
      }
      if (i == 0 && strip_first_ && out.starts_with(' ')) out.erase(0, 1);
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (find_invalid_utf8(pending) == std::string_view::npos) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (auto& t : tokens) {
      unsigned value = 0;
      if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && std::sscanf(t.c_str() + 3, "%2x", &value) == 1 &&
          std::isxdigit(static_cast<unsigned char>(t[3])) && std::isxdigit(static_cast<unsigned char>(t[4]))) {
        pending += static_cast<char>(value);
        ++pending_count;
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens = {all};
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      for (size_t i = 0; i < start_ && t.starts_with(content_); ++i) t.erase(0, content_.size());
      for (size_t i = 0; i < stop_ && t.ends_with(content_); ++i) t.erase(t.size() - content_.size());
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const std::string& pattern, std::string content, const std::string& where)
      : regex_(pattern, where), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::string out;
      size_t last = 0;
      for (auto [b, e] : regex_.find_all(t)) {
        out.append(t, last, b - last);
        out += content_;
        last = e;
      }
      out.append(t, last, std::string::npos);
      t = std::move(out);
    }
  }

 private:
  Regex regex_;
  std::string content_;
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

// HF's decoder `cleanup`: spaces before punctuation and contractions (WordPiece and CTC).
void wordpiece_cleanup(std::string& t) {
  for (auto [from, to] : std::initializer_list<std::pair<const char*, const char*>>{
           {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
           {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}})
    replace_all(t, from, to);
}

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto& t = tokens[i];
      if (i > 0) {
        if (t.starts_with(prefix_)) t.erase(0, prefix_.size());
        else t.insert(0, " ");
      }
      if (cleanup_) {
        wordpiece_cleanup(t);
      }
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

// CTC: collapse repeats, drop the pad token, map the word delimiter to a space.
class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup) : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && tokens[i] == tokens[i - 1]) continue;
      std::string t = tokens[i];
      if (t == pad_) continue;
      replace_all(t, delimiter_, " ");
      if (cleanup_) {
        wordpiece_cleanup(t);
      }
      if (!t.empty()) out.push_back(t);
    }
    tokens = std::move(out);
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& s : steps_) s->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  auto type = require_string(spec, "type", where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    std::string scheme = field_or<std::string>(spec, "prepend_scheme", "", where);
    bool strip = scheme.empty() ? field_or(spec, "add_prefix_space", true, where) : scheme != "never";
    return std::make_unique<MetaspaceDecoder>(field_or<std::string>(spec, "replacement", "\xE2\x96\x81", where), strip);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(require_string(spec, "content", where), field_or<size_t>(spec, "start", 0, where),
                                          field_or<size_t>(spec, "stop", 0, where));
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(pattern_to_regex(require_field(spec, "pattern", where), where + ".pattern"),
                                            require_string(spec, "content", where), where);
  if (type == "WordPiece")
    return std::make_unique<WordPieceDecoder>(field_or<std::string>(spec, "prefix", "##", where), field_or(spec, "cleanup", true, where));
  if (type == "CTC")
    return std::make_unique<CtcDecoder>(field_or<std::string>(spec, "pad_token", "<pad>", where),
                                        field_or<std::string>(spec, "word_delimiter_token", "|", where),
                                        field_or(spec, "cleanup", true, where));
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(field_or<std::string>(spec, "suffix", "</w>", where));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> steps;
    const auto& list = require_list(spec, "decoders", where);
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  throw NotSupportedError(fmt::format("[tokenizer] {}: unknown decoder type '{}'; supported: ByteLevel, Metaspace, ByteFallback, "
                                      "Fuse, Strip, Replace, WordPiece, BPEDecoder, CTC, Sequence", where, type));
}

}  // namespace automodel::tokenizer
