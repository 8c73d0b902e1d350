#include "automodel/tokenizer/vocab.h"

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"

namespace automodel::tokenizer {

Vocab Vocab::from_object(const nlohmann::json& vocab, const std::string& where) {
  AM_CHECK(vocab.is_object(), "[tokenizer] {}: expected an object of token -> id, found {}", where, vocab.type_name());
  Vocab v;
  for (const auto& [token, id] : vocab.items()) {
    AM_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (1LL << 31),
             "[tokenizer] {}: id of '{}' must be a non-negative integer, found {}", where, token, id.dump());
    // Ids index a dense table: a lone id of 2^31 - 1 would allocate tens of GB. Real vocabularies
    // are dense, so allow at most 2^20 unused ids beyond the entry count.
    AM_CHECK(static_cast<size_t>(id.get<int64_t>()) < vocab.size() + (size_t{1} << 20),
             "[tokenizer] {}: id {} of '{}' is far beyond the vocabulary's {} entries (ids must be dense)", where,
             id.get<int64_t>(), token, vocab.size());
    v.add(token, id.get<int32_t>());
  }
  return v;
}

void Vocab::add(std::string token, int32_t id) {
  if (static_cast<size_t>(id) >= tokens_.size()) {
    tokens_.resize(static_cast<size_t>(id) + 1);
    has_.resize(static_cast<size_t>(id) + 1, false);
  }
  tokens_[id] = token;
  has_[id] = true;
  ids_[std::move(token)] = id;
}

}  // namespace automodel::tokenizer
