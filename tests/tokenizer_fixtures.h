// The tokenizers under tests/fixtures/tokenizers/<name> (tokenizer.json.gz or a SentencePiece
// tokenizer.model), loaded once per test binary.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "automodel/tokenizer/tokenizer.h"
#include "test_util.h"

namespace automodel::testing {

inline const tokenizer::Tokenizer& fixture_tokenizer(const std::string& name) {
  static std::map<std::string, tokenizer::Tokenizer> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  auto dir = fixtures_dir() / "tokenizers" / name;
  auto t = std::filesystem::exists(dir / "tokenizer.json.gz")
               ? tokenizer::Tokenizer::from_json(nlohmann::json::parse(read_fixture(dir / "tokenizer.json.gz")), name)
               : tokenizer::Tokenizer::from_sentencepiece(dir / "tokenizer.model");
  return cache.emplace(name, std::move(t)).first->second;
}

}  // namespace automodel::testing
