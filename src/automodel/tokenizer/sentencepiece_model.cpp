#include "automodel/tokenizer/sentencepiece_model.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {
namespace {

// Minimal protobuf wire-format reader for sentencepiece_model.proto.
class Wire {
 public:
  Wire(std::string_view data, const std::string& label) : data_(data), label_(label) {}
  bool done() const { return pos_ >= data_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      AM_CHECK(pos_ < data_.size(), "[tokenizer] {}: truncated SentencePiece model", label_);
      auto b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    AM_FAIL("[tokenizer] {}: malformed varint in SentencePiece model", label_);
  }
  std::string_view bytes() {
    uint64_t n = varint();
    AM_CHECK(n <= data_.size() - pos_, "[tokenizer] {}: truncated SentencePiece model", label_);
    auto out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  float fixed32() {
    AM_CHECK(pos_ + 4 <= data_.size(), "[tokenizer] {}: truncated SentencePiece model", label_);
    float f;
    std::memcpy(&f, data_.data() + pos_, 4);
    pos_ += 4;
    return f;
  }
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: AM_CHECK(pos_ + 8 <= data_.size(), "[tokenizer] {}: truncated", label_); pos_ += 8; break;
      case 2: bytes(); break;
      case 5: fixed32(); break;
      default: AM_FAIL("[tokenizer] {}: not a SentencePiece model (wire type {})", label_, wire_type);
    }
  }

 private:
  std::string_view data_;
  std::string label_;
  size_t pos_ = 0;
};

struct Piece {
  std::string text;
  float score = 0;
  int type = 1;  // NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6
};

struct SpModel {
  std::vector<Piece> pieces;
  int model_type = 1;  // UNIGRAM=1 BPE=2 WORD=3 CHAR=4
  bool byte_fallback = false, add_dummy_prefix = true;
  int unk_id = 0, bos_id = 1, eos_id = 2;
};

SpModel parse(std::string_view data, const std::string& label) {
  SpModel m;
  Wire w(data, label);
  while (!w.done()) {
    uint64_t key = w.varint();
    uint32_t field = static_cast<uint32_t>(key >> 3), type = key & 7;
    if (field == 1 && type == 2) {
      Wire p(w.bytes(), label);
      Piece piece;
      while (!p.done()) {
        uint64_t k = p.varint();
        uint32_t f = static_cast<uint32_t>(k >> 3), t = k & 7;
        if (f == 1 && t == 2) piece.text = std::string(p.bytes());
        else if (f == 2 && t == 5) piece.score = p.fixed32();
        else if (f == 3 && t == 0) piece.type = static_cast<int>(p.varint());
        else p.skip(t);
      }
      m.pieces.push_back(std::move(piece));
    } else if (field == 2 && type == 2) {  // TrainerSpec
      Wire t(w.bytes(), label);
      while (!t.done()) {
        uint64_t k = t.varint();
        uint32_t f = static_cast<uint32_t>(k >> 3), wt = k & 7;
        if (f == 3 && wt == 0) m.model_type = static_cast<int>(t.varint());
        else if (f == 35 && wt == 0) m.byte_fallback = t.varint() != 0;
        else if (f == 40 && wt == 0) m.unk_id = static_cast<int>(static_cast<int32_t>(t.varint()));
        else if (f == 41 && wt == 0) m.bos_id = static_cast<int>(static_cast<int32_t>(t.varint()));
        else if (f == 42 && wt == 0) m.eos_id = static_cast<int>(static_cast<int32_t>(t.varint()));
        else t.skip(wt);
      }
    } else if (field == 3 && type == 2) {  // NormalizerSpec
      Wire n(w.bytes(), label);
      while (!n.done()) {
        uint64_t k = n.varint();
        uint32_t f = static_cast<uint32_t>(k >> 3), wt = k & 7;
        if (f == 3 && wt == 0) m.add_dummy_prefix = n.varint() != 0;
        else n.skip(wt);
      }
    } else {
      w.skip(type);
    }
  }
  AM_CHECK(!m.pieces.empty(), "[tokenizer] {}: no pieces (not a SentencePiece model?)", label);
  return m;
}

// transformers' SentencePieceExtractor: a merge (l, r) for every piece that splits into two
// pieces, ordered by the merged piece's score (then by the ids of l and r).
nlohmann::json extract_merges(const SpModel& m, const std::map<std::string, int>& vocab) {
  struct Merge {
    std::string l, r;
    float score;
    int li, ri;
  };
  std::vector<Merge> merges;
  for (const auto& p : m.pieces) {
    if (p.type != 1 && p.type != 4) continue;
    auto cps = decode_utf8(p.text);
    std::vector<Merge> local;
    std::string left;
    for (size_t k = 1; k < cps.size(); ++k) {
      append_utf8(left, cps[k - 1]);
      std::string right = p.text.substr(left.size());
      auto li = vocab.find(left), ri = vocab.find(right);
      if (li != vocab.end() && ri != vocab.end()) local.push_back({left, right, p.score, li->second, ri->second});
    }
    std::stable_sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return a.li != b.li ? a.li < b.li : a.ri < b.ri;
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  nlohmann::json out = nlohmann::json::array();
  for (const auto& mg : merges) out.push_back(nlohmann::json::array({mg.l, mg.r}));
  return out;
}

}  // namespace

nlohmann::json sentencepiece_to_tokenizer_json(const std::filesystem::path& model_file) {
  const std::string label = model_file.string();
  SpModel m = parse(read_file(model_file), label);
  const std::string meta = "\xE2\x96\x81";
  nlohmann::json added = nlohmann::json::array();
  for (size_t id = 0; id < m.pieces.size(); ++id) {
    int t = m.pieces[id].type;
    if (t == 2 || t == 3)  // unknown and control pieces are special added tokens
      added.push_back({{"id", id}, {"content", m.pieces[id].text}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  nlohmann::json spec;
  std::string unk = m.unk_id >= 0 && static_cast<size_t>(m.unk_id) < m.pieces.size() ? m.pieces[m.unk_id].text : "";
  if (m.model_type == 2) {  // BPE (Llama, Mistral, Gemma)
    std::map<std::string, int> vocab;
    nlohmann::json vocab_json = nlohmann::json::object();
    for (size_t id = 0; id < m.pieces.size(); ++id) {
      vocab.emplace(m.pieces[id].text, static_cast<int>(id));
      vocab_json[m.pieces[id].text] = id;
    }
    spec["model"] = {{"type", "BPE"}, {"vocab", vocab_json}, {"merges", extract_merges(m, vocab)}, {"unk_token", unk},
                     {"fuse_unk", true}, {"byte_fallback", m.byte_fallback}, {"dropout", nullptr}};
    nlohmann::json normalizers = nlohmann::json::array();
    if (m.add_dummy_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", meta}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", meta}});
    spec["normalizer"] = {{"type", "Sequence"}, {"normalizers", normalizers}};
    spec["pre_tokenizer"] = nullptr;
    nlohmann::json decoders = nlohmann::json::array(
        {{{"type", "Replace"}, {"pattern", {{"String", meta}}}, {"content", " "}}, {{"type", "ByteFallback"}}, {{"type", "Fuse"}}});
    if (m.add_dummy_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    spec["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  } else if (m.model_type == 1) {  // Unigram (T5-style)
    nlohmann::json vocab = nlohmann::json::array();
    for (const auto& p : m.pieces) vocab.push_back(nlohmann::json::array({p.text, p.score}));
    spec["model"] = {{"type", "Unigram"}, {"unk_id", m.unk_id}, {"vocab", vocab}, {"byte_fallback", m.byte_fallback}};
    std::string scheme = m.add_dummy_prefix ? "always" : "never";
    spec["normalizer"] = nullptr;
    spec["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", meta}, {"prepend_scheme", scheme}, {"split", true}};
    spec["decoder"] = {{"type", "Metaspace"}, {"replacement", meta}, {"prepend_scheme", scheme}, {"split", true}};
  } else {
    throw NotSupportedError(fmt::format("[tokenizer] {}: SentencePiece model type {} (word/char) is not supported", label,
                                        m.model_type));
  }
  if (m.bos_id >= 0 && static_cast<size_t>(m.bos_id) < m.pieces.size()) {
    std::string bos = m.pieces[m.bos_id].text;
    nlohmann::json single = nlohmann::json::array();
    single.push_back({{"SpecialToken", {{"id", bos}, {"type_id", 0}}}});
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    nlohmann::json special = nlohmann::json::object();
    special[bos] = {{"id", bos}, {"ids", nlohmann::json::array({m.bos_id})}, {"tokens", nlohmann::json::array({bos})}};
    spec["post_processor"] = {{"type", "TemplateProcessing"}, {"single", single}, {"special_tokens", special}};
  }
  spec["added_tokens"] = added;
  return spec;
}

}  // namespace automodel::tokenizer
