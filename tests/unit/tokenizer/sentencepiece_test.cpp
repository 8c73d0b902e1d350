// SentencePiece tokenizer.model files (no tokenizer.json): Llama 2's model against llama.cpp's
// SPM test vectors, and stories260K's model against its tokenizer.json on ordinary text.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "automodel/common/atomic_file.h"
#include "automodel/tokenizer/tokenizer.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

using automodel::testing::fixtures_dir;

std::vector<std::string> split_cases(const std::string& text) {
  std::vector<std::string> out;
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t start = 0;
  while (true) {
    size_t p = text.find(sep, start);
    if (p == std::string::npos) break;
    out.push_back(text.substr(start, p - start));
    start = p + sep.size();
  }
  return out;
}

TEST(SentencePiece, Llama2ModelMatchesLlamaCppSpmVectors) {
  auto tok = Tokenizer::from_sentencepiece(fixtures_dir() / "tokenizers" / "llama2_sentencepiece" / "tokenizer.model");
  auto inputs = split_cases(read_file(fixtures_dir() / "tokenizer_vectors" / "llama_cpp" / "ggml-vocab-llama-spm.gguf.inp"));
  std::istringstream out(read_file(fixtures_dir() / "tokenizer_vectors" / "llama_cpp" / "ggml-vocab-llama-spm.gguf.out"));
  std::string line;
  size_t i = 0, checked = 0;
  while (std::getline(out, line) && i < inputs.size()) {
    std::vector<int32_t> want;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) want.push_back(id);
    const auto& text = inputs[i++];
    if (text.empty()) continue;  // llama.cpp special-cases the empty string
    EXPECT_EQ(tok.encode(text), want) << "input: " << text;
    ++checked;
  }
  EXPECT_GT(checked, 30u);
  EXPECT_EQ(tok.encode("Hello", true).front(), 1);  // BOS from the model
  EXPECT_EQ(tok.decode(tok.encode("Hello world", true), true), "Hello world");
  EXPECT_TRUE(tok.is_special(1));
}

TEST(SentencePiece, FolderWithOnlyTokenizerModelLoadsAndMatchesTokenizerJsonOnPlainText) {
  automodel::testing::TempDir dir;
  auto stories = fixtures_dir() / "stories260K";
  std::filesystem::copy_file(stories / "tokenizer.model", dir / "tokenizer.model");
  auto from_model = load_tokenizer(dir.path());
  auto from_json = Tokenizer::from_file(stories / "tokenizer.json");
  for (const char* text : {"Once upon a time, there was a little girl named Lily.", "She liked to play outside!", "The sun 123."})
    EXPECT_EQ(from_model.tokenizer.encode(text, true), from_json.encode(text, true)) << text;
}

}  // namespace
}  // namespace automodel::tokenizer
