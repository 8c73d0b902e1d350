// Every tokenizer fixture against the official HF tokenizers library's outputs (npm
// tokenizers@0.23.2, oracle_vectors.json): ids with and without special tokens, and decoding
// with and without skipping special tokens, on multilingual, llama.cpp and edge-case inputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/tokenizer/tokenizer.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using automodel::testing::fixtures_dir;
using automodel::testing::read_fixture;

const nlohmann::json& oracle() {
  static const nlohmann::json data =
      nlohmann::json::parse(read_fixture(fixtures_dir() / "tokenizer_vectors" / "oracle_vectors.json.gz"));
  return data;
}

Tokenizer load_fixture_tokenizer(const std::string& name) {
  auto dir = fixtures_dir() / "tokenizers" / name;
  auto path = fs::exists(dir / "tokenizer.json") ? dir / "tokenizer.json" : dir / "tokenizer.json.gz";
  return Tokenizer::from_json(nlohmann::json::parse(read_fixture(path)), path.string());
}

std::vector<std::string> oracle_tokenizers() {
  std::vector<std::string> names;
  for (const auto& [name, _] : oracle()["results"].items()) names.push_back(name);
  return names;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < 40; ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + (ids.size() > 40 ? ",..." : "");
}

class TokenizerOracle : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerOracle, EncodeAndDecodeMatchHfTokenizersOnEveryInput) {
  auto tok = load_fixture_tokenizer(GetParam());
  const auto& results = oracle()["results"][GetParam()];
  std::map<std::string, std::string> texts;
  for (const auto& in : oracle()["inputs"]) texts[in["id"].get<std::string>()] = in["text"].get<std::string>();
  int checked = 0, mismatches = 0;
  for (const auto& [input_id, expected] : results.items()) {
    const auto& text = texts.at(input_id);
    auto ids = tok.encode(text, false);
    auto with_special = tok.encode(text, true);
    auto want = expected["ids"].get<std::vector<int32_t>>();
    auto want_special = expected["ids_with_special"].get<std::vector<int32_t>>();
    bool ok = ids == want && with_special == want_special;
    EXPECT_EQ(show(ids), show(want)) << input_id << ": " << text;
    EXPECT_EQ(show(with_special), show(want_special)) << input_id << " (with special tokens)";
    auto decoded = tok.decode(want, false);
    auto decoded_skip = tok.decode(want_special, true);
    ok &= decoded == expected["decoded"].get<std::string>() && decoded_skip == expected["decoded_skip_special"].get<std::string>();
    EXPECT_EQ(decoded, expected["decoded"].get<std::string>()) << input_id;
    EXPECT_EQ(decoded_skip, expected["decoded_skip_special"].get<std::string>()) << input_id << " (skip special)";
    mismatches += !ok;
    ++checked;
  }
  EXPECT_GT(checked, 100);
  EXPECT_EQ(mismatches, 0) << mismatches << " of " << checked << " inputs differ";
}

INSTANTIATE_TEST_SUITE_P(Oracle, TokenizerOracle, ::testing::ValuesIn(oracle_tokenizers()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace automodel::tokenizer
