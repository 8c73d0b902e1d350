#include "automodel/tokenizer/model.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/tokenizer/bpe.h"
#include "automodel/tokenizer/json_util.h"
#include "automodel/tokenizer/unicode.h"
#include "automodel/tokenizer/vocab.h"

namespace automodel::tokenizer {
namespace {

std::optional<int32_t> lookup_unk(const Vocab& vocab, const nlohmann::json& spec, const std::string& where) {
  if (!spec.contains("unk_token") || !spec["unk_token"].is_string()) return std::nullopt;
  auto unk = spec["unk_token"].get<std::string>();
  auto id = vocab.find(unk);
  AM_CHECK(id.has_value(), "[tokenizer] {}.unk_token: '{}' is not in the vocabulary", where, unk);
  return id;
}

class WordLevel : public VocabModel {
 public:
  WordLevel(const nlohmann::json& spec, const std::string& where) {
    vocab_ = Vocab::from_object(require_field(spec, "vocab", where), where + ".vocab");
    unk_ = lookup_unk(vocab_, spec, where);
  }
  void tokenize(std::string_view piece, std::vector<int32_t>& ids) const override {
    if (auto id = vocab_.find(piece)) ids.push_back(*id);
    else if (unk_) ids.push_back(*unk_);
    else AM_FAIL("[tokenizer] WordLevel: '{}' is not in the vocabulary and there is no unk_token", piece);
  }

 private:
  std::optional<int32_t> unk_;
};

class WordPiece : public VocabModel {
 public:
  WordPiece(const nlohmann::json& spec, const std::string& where)
      : prefix_(field_or<std::string>(spec, "continuing_subword_prefix", "##", where)),
        max_chars_(field_or<int64_t>(spec, "max_input_chars_per_word", 100, where)) {
    vocab_ = Vocab::from_object(require_field(spec, "vocab", where), where + ".vocab");
    unk_ = lookup_unk(vocab_, spec, where);
    AM_CHECK(unk_.has_value(), "[tokenizer] {}: WordPiece needs an unk_token", where);
  }
  void tokenize(std::string_view piece, std::vector<int32_t>& ids) const override {
    auto cps = decode_utf8(piece);
    if (static_cast<int64_t>(cps.size()) > max_chars_) {
      ids.push_back(*unk_);
      return;
    }
    // Byte offsets of code point boundaries.
    std::vector<size_t> bounds{0};
    for (char32_t c : cps) bounds.push_back(bounds.back() + encode_utf8(c).size());
    std::vector<int32_t> out;
    size_t start = 0;
    while (start < cps.size()) {
      std::optional<int32_t> found;
      size_t end = cps.size();
      for (; end > start; --end) {
        std::string sub(piece.substr(bounds[start], bounds[end] - bounds[start]));
        if (start > 0) sub = prefix_ + sub;
        if ((found = vocab_.find(sub))) break;
      }
      if (!found) {
        ids.push_back(*unk_);
        return;
      }
      out.push_back(*found);
      start = end;
    }
    ids.insert(ids.end(), out.begin(), out.end());
  }

 private:
  std::optional<int32_t> unk_;
  std::string prefix_;
  int64_t max_chars_;
};

// SentencePiece-style unigram LM: Viterbi segmentation maximising the sum of piece scores.
class Unigram : public VocabModel {
 public:
  Unigram(const nlohmann::json& spec, const std::string& where) {
    const auto& vocab = require_field(spec, "vocab", where);
    AM_CHECK(vocab.is_array(), "[tokenizer] {}.vocab: expected a list of [piece, score]", where);
    double min_score = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < vocab.size(); ++i) {
      const auto& e = vocab[i];
      AM_CHECK(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number(),
               "[tokenizer] {}.vocab[{}]: expected [piece, score], found {}", where, i, e.dump());
      auto piece = e[0].get<std::string>();
      vocab_.add(piece, static_cast<int32_t>(i));
      scores_.push_back(e[1].get<double>());
      min_score = std::min(min_score, scores_.back());
      max_piece_bytes_ = std::max(max_piece_bytes_, piece.size());
    }
    if (spec.contains("unk_id") && spec["unk_id"].is_number_integer()) {
      // Checked as 64 bits first: a larger id must not wrap into range.
      auto unk = spec["unk_id"].is_number_unsigned() && spec["unk_id"].get<uint64_t>() > INT64_MAX
                     ? int64_t{-1}
                     : spec["unk_id"].get<int64_t>();
      AM_CHECK(unk >= 0 && static_cast<size_t>(unk) < scores_.size(), "[tokenizer] {}.unk_id {} is out of range [0, {})",
               where, spec["unk_id"].dump(), scores_.size());
      unk_ = static_cast<int32_t>(unk);
    }
    unk_score_ = min_score - 10.0;
    byte_fallback_ = field_or(spec, "byte_fallback", false, where);
    for (int b = 0; b < 256; ++b) byte_ids_[b] = vocab_.find(fmt::format("<0x{:02X}>", b)).value_or(-1);
  }

  void tokenize(std::string_view piece, std::vector<int32_t>& ids) const override {
    const size_t n = piece.size();
    // best[i]: best score of a segmentation of piece[0, i); from[i]: (start, id) of its last token.
    std::vector<double> best(n + 1, -std::numeric_limits<double>::infinity());
    std::vector<std::pair<size_t, int32_t>> from(n + 1, {0, -1});
    best[0] = 0;
    for (size_t i = 0; i < n; i = i) {
      size_t char_len = std::min(utf8_sequence_length(static_cast<unsigned char>(piece[i])), n - i);
      if (best[i] > -std::numeric_limits<double>::infinity()) {
        bool single_char_known = false;
        for (size_t len = 1; len <= std::min(max_piece_bytes_, n - i); ++len) {
          auto id = vocab_.find(piece.substr(i, len));
          if (!id) continue;
          if (len == char_len) single_char_known = true;
          double s = best[i] + scores_[*id];
          if (s > best[i + len]) best[i + len] = s, from[i + len] = {i, *id};
        }
        if (!single_char_known) {  // unknown character: an unk token covering it
          double s = best[i] + unk_score_;
          if (s > best[i + char_len]) best[i + char_len] = s, from[i + char_len] = {i, -1};
        }
      }
      i += char_len;
    }
    std::vector<std::pair<size_t, int32_t>> tokens;  // (start, id or -1 for unk), reversed
    for (size_t end = n; end > 0;) {
      auto [start, id] = from[end];
      tokens.emplace_back(start, id);
      end = start;
    }
    bool last_unk = false;
    for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
      auto [start, id] = *it;
      if (id >= 0) {
        ids.push_back(id);
        last_unk = false;
        continue;
      }
      size_t end = (it + 1 == tokens.rend()) ? n : (it + 1)->first;
      if (byte_fallback_) {
        for (size_t b = start; b < end; ++b) ids.push_back(byte_ids_[static_cast<unsigned char>(piece[b])]);
        last_unk = false;
        continue;
      }
      AM_CHECK(unk_.has_value(), "[tokenizer] Unigram: '{}' cannot be tokenized and there is no unk_id",
               piece.substr(start, end - start));
      if (!last_unk) ids.push_back(*unk_);  // consecutive unknowns fuse, as HF's Unigram does
      last_unk = true;
    }
  }

 private:
  std::vector<double> scores_;
  std::optional<int32_t> unk_;
  double unk_score_ = 0;
  bool byte_fallback_ = false;
  size_t max_piece_bytes_ = 0;
  int32_t byte_ids_[256];
};

}  // namespace

std::unique_ptr<Model> make_model(const nlohmann::json& spec, const std::string& where) {
  AM_CHECK(spec.is_object(), "[tokenizer] {}: missing or not an object", where);
  // Older files omit "type" for BPE.
  std::string type = field_or<std::string>(spec, "type", spec.contains("merges") ? "BPE" : "", where);
  if (type == "BPE") return std::make_unique<Bpe>(spec, where);
  if (type == "WordPiece") return std::make_unique<WordPiece>(spec, where);
  if (type == "WordLevel") return std::make_unique<WordLevel>(spec, where);
  if (type == "Unigram") return std::make_unique<Unigram>(spec, where);
  throw NotSupportedError(fmt::format("[tokenizer] {}: unknown model type '{}'; supported: BPE, Unigram, WordPiece, WordLevel",
                                      where, type));
}

}  // namespace automodel::tokenizer
