// tokenizer.json "pre_tokenizer": splits normalized text into pieces the model tokenizes
// independently (ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, Digits, Punctuation,
// BertPreTokenizer, Sequence).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace automodel::tokenizer {

struct Piece {
  std::string text;
  bool at_input_start = false;  // begins at offset 0 of the whole input (Metaspace "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece further (in place, order kept, empty pieces dropped).
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where);

// GPT-2's byte -> printable-character table used by ByteLevel pre-tokenizer and decoder.
const std::vector<std::string>& byte_to_unicode();
// Inverse: UTF-8 of a mapped character -> byte, or -1.
int unicode_to_byte(char32_t cp);

}  // namespace automodel::tokenizer
