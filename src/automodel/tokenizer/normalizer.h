// tokenizer.json "normalizer": text -> normalized text (NFC/NFKC/..., Lowercase, Strip,
// StripAccents, Replace, Prepend, BertNormalizer, Sequence).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace automodel::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string_view text) const = 0;
};

// `where` names the JSON location for errors (e.g. "tokenizer.json: normalizer").
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec, const std::string& where);

}  // namespace automodel::tokenizer
