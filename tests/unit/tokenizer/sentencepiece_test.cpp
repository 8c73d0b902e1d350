// SentencePiece tokenizer.model files (no tokenizer.json) are converted as transformers converts
// them to fast tokenizers: Llama 2's model against transformers.js's Llama 2 vectors (HF fast
// tokenizer ids), and stories260K's model against its HF-converted tokenizer.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/tokenizer.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "automodel/tokenizer/unicode.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

using automodel::testing::fixtures_dir;
using automodel::testing::read_fixture;

TEST(SentencePiece, Llama2ModelMatchesHfFastTokenizerVectors) {
  auto tok = Tokenizer::from_sentencepiece(fixtures_dir() / "tokenizers" / "llama2_sentencepiece" / "tokenizer.model");
  auto cases = nlohmann::json::parse(read_file(fixtures_dir() / "tokenizer_vectors" / "tjs_tokenizer_vectors.json"))["llama"]
                                                                                                                  ["Xenova/llama-tokenizer"];
  size_t checked = 0;
  for (const auto& [name, c] : cases.items()) {
    auto want = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(c["text"].get<std::string>(), true), want) << name << ": " << c["text"];
    if (c.contains("decoded")) EXPECT_EQ(tok.decode(want), c["decoded"].get<std::string>()) << name;
    ++checked;
  }
  EXPECT_GT(checked, 20u);
  EXPECT_TRUE(tok.is_special(1));
}

TEST(SentencePiece, ConvertedStoriesModelEqualsItsTokenizerJson) {
  automodel::testing::TempDir dir;
  auto stories = fixtures_dir() / "stories260K";
  std::filesystem::copy_file(stories / "tokenizer.model", dir / "tokenizer.model");
  auto from_model = load_tokenizer(dir.path());  // a folder with only tokenizer.model
  auto from_json = Tokenizer::from_file(stories / "tokenizer.json");
  auto oracle = nlohmann::json::parse(read_fixture(fixtures_dir() / "tokenizer_vectors" / "oracle_vectors.json.gz"));
  size_t n = 0;
  for (const auto& in : oracle["inputs"]) {
    std::string text = in["text"];
    EXPECT_EQ(from_model.tokenizer.encode(text, true), from_json.encode(text, true)) << in["id"];
    auto ids = from_json.encode(text, true);
    EXPECT_EQ(from_model.tokenizer.decode(ids, true), from_json.decode(ids, true)) << in["id"];
    ++n;
  }
  EXPECT_GT(n, 100u);
}

TEST(SentencePiece, GarbageModelFileIsAClearError) {
  automodel::testing::TempDir dir;
  write_file_atomic(dir / "tokenizer.model", std::string("\xff\xff\xff", 3));
  try {
    Tokenizer::from_sentencepiece(dir / "tokenizer.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "tokenizer.model").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace automodel::tokenizer
