// tokenizer.json "model": one pre-tokenized piece -> token ids (BPE, Unigram, WordPiece,
// WordLevel), plus the vocabulary both ways.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "automodel/tokenizer/vocab.h"

namespace automodel::tokenizer {

class Model {
 public:
  virtual ~Model() = default;
  virtual void tokenize(std::string_view piece, std::vector<int32_t>& ids) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(int32_t id) const = 0;  // nullptr if out of range
  virtual size_t vocab_size() const = 0;
};

// A model whose vocabulary is a token <-> id table (all four kinds).
class VocabModel : public Model {
 public:
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }

 protected:
  Vocab vocab_;
};

std::unique_ptr<Model> make_model(const nlohmann::json& spec, const std::string& where);

}  // namespace automodel::tokenizer
