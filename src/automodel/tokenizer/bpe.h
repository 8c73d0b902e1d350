// Byte-pair encoding as HF tokenizers implements it: merges by rank, byte_fallback,
// ignore_merges, continuing_subword_prefix, end_of_word_suffix, unk fusing.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "automodel/tokenizer/model.h"
#include "automodel/tokenizer/vocab.h"

namespace automodel::tokenizer {

class Bpe : public VocabModel {
 public:
  Bpe(const nlohmann::json& spec, const std::string& where);
  void tokenize(std::string_view piece, std::vector<int32_t>& ids) const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
  void initial_symbols(std::string_view piece, std::vector<int32_t>& symbols) const;
  void apply_merges(std::vector<int32_t>& symbols) const;

  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256];  // <0xXX> tokens for byte_fallback, -1 if absent

  // Word -> ids cache shared by all threads (words repeat heavily in real text), sharded so
  // encode_batch workers rarely contend.
  struct CacheShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>> words;
  };
  static constexpr size_t kCacheShards = 64;
  mutable std::unique_ptr<CacheShard[]> cache_ = std::make_unique<CacheShard[]>(kCacheShards);
};

}  // namespace automodel::tokenizer
