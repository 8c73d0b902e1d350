// Every tokenizer fixture against the independent upstream test vectors that apply to it:
// llama.cpp's vocab tests (generated with HF AutoTokenizer), swift-transformers' multilingual
// and long-text baselines (Python transformers 4.57), and transformers.js' tokenizer tests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "automodel/common/atomic_file.h"
#include "automodel/tokenizer/tokenizer.h"
#include "test_util.h"
#include "tokenizer_fixtures.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using automodel::testing::fixtures_dir;
using automodel::testing::fixture_tokenizer;

const fs::path kVectors = fixtures_dir() / "tokenizer_vectors";

struct LlamaCppCase {
  std::string vocab, tokenizer;
};

class LlamaCppVectors : public ::testing::TestWithParam<LlamaCppCase> {};

TEST_P(LlamaCppVectors, IdsMatch) {
  const auto& [vocab, name] = GetParam();
  std::string inp = read_file(kVectors / "llama_cpp" / ("ggml-vocab-" + vocab + ".gguf.inp"));
  std::istringstream out(read_file(kVectors / "llama_cpp" / ("ggml-vocab-" + vocab + ".gguf.out")));
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t start = 0, checked = 0;
  std::string line;
  while (std::getline(out, line)) {
    size_t end = inp.find(sep, start);
    ASSERT_NE(end, std::string::npos);
    std::string text = inp.substr(start, end - start);
    start = end + sep.size();
    std::vector<int32_t> want;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) want.push_back(id);
    EXPECT_EQ(fixture_tokenizer(name).encode(text), want) << vocab << " / " << name << ": " << json(text).dump();
    ++checked;
  }
  EXPECT_GE(checked, 40u);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, LlamaCppVectors,
                         ::testing::Values(LlamaCppCase{"llama-bpe", "llama3"}, LlamaCppCase{"llama-bpe", "llama3_1"},
                                           LlamaCppCase{"qwen2", "qwen3"}, LlamaCppCase{"deepseek-r1-qwen", "qwen3"},
                                           LlamaCppCase{"gpt-2", "gpt2"}, LlamaCppCase{"phi-3", "phi3_mini"},
                                           LlamaCppCase{"llama-spm", "phi3_mini"}, LlamaCppCase{"llama-spm", "llama2_sentencepiece"}),
                         [](const auto& info) { return automodel::testing::param_name(info.param.vocab + "_" + info.param.tokenizer); });

struct SwiftCase {
  std::string baseline, tokenizer;
  bool bos;  // baseline ids include BOS (add_special_tokens=True on a Llama tokenizer)
};

class SwiftMultilingual : public ::testing::TestWithParam<SwiftCase> {};

TEST_P(SwiftMultilingual, IdsMatchOnAllInputs) {
  const auto& c = GetParam();
  auto inputs = json::parse(read_file(kVectors / "swift" / "inputs.json"));
  std::map<std::string, std::string> texts;
  for (const auto& in : inputs) texts[in["id"]] = in["text"];
  auto baseline = json::parse(read_file(kVectors / "swift" / c.baseline));
  size_t checked = 0;
  for (const auto& e : baseline["entries"]) {
    const auto& tok = fixture_tokenizer(c.tokenizer);
    auto ids = tok.encode(texts.at(e["id"]), false);
    if (c.bos) ids.insert(ids.begin(), 1);
    EXPECT_EQ(ids, e["input_ids"].get<std::vector<int32_t>>()) << c.baseline << ": " << e["id"];
    ++checked;
  }
  EXPECT_EQ(checked, 83u);
}

INSTANTIATE_TEST_SUITE_P(Baselines, SwiftMultilingual,
                         ::testing::Values(SwiftCase{"qwen2_5_multilingual.json", "qwen3", false},
                                           SwiftCase{"gpt2_multilingual.json", "gpt2", false},
                                           SwiftCase{"tinyllama_multilingual.json", "phi3_mini", true},
                                           SwiftCase{"tinyllama_multilingual.json", "llama2_sentencepiece", true}),
                         [](const auto& info) { return automodel::testing::param_name(info.param.baseline + "_" + info.param.tokenizer); });

TEST(SwiftLongText, FrenchArticleIdsMatch) {
  struct Case {
    const char* file;
    const char* tokenizer;
    bool bos;
  };
  for (auto c : {Case{"gpt2_encoded_tokens.json", "gpt2", false}, Case{"llama_encoded.json", "llama2_sentencepiece", true},
                 Case{"llama_3.2_encoded.json", "llama3_1", true}}) {
    auto data = json::parse(read_file(kVectors / "swift" / c.file));
    auto want = data["token_ids"].get<std::vector<int32_t>>();
    auto got = fixture_tokenizer(c.tokenizer).encode(data["text"].get<std::string>(), c.bos);
    EXPECT_EQ(got, want) << c.file;
  }
}

struct JsCase {
  std::string family, model, tokenizer;
  bool clean_up = false;  // the model's tokenizer_config sets clean_up_tokenization_spaces
};

class TransformersJsVectors : public ::testing::TestWithParam<JsCase> {};

TEST_P(TransformersJsVectors, IdsWithSpecialTokensAndDecodingMatch) {
  const auto& c = GetParam();
  auto cases = json::parse(read_file(kVectors / "tjs_tokenizer_vectors.json"))[c.family][c.model];
  const auto& tok = fixture_tokenizer(c.tokenizer);
  bool add_bos = c.tokenizer == "phi3_mini";  // the Llama-2 vocabulary; its tokenizer.json adds no BOS
  size_t checked = 0;
  for (const auto& [name, v] : cases.items()) {
    auto ids = tok.encode(v["text"].get<std::string>(), true);
    if (add_bos) ids.insert(ids.begin(), 1);
    auto want = v["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(ids, want) << c.model << " " << name << ": " << v["text"];
    std::string decoded = tok.decode(want);
    if (c.clean_up) decoded = clean_up_tokenization(decoded);
    if (v.contains("decoded")) EXPECT_EQ(decoded, v["decoded"].get<std::string>()) << c.model << " " << name;
    ++checked;
  }
  EXPECT_GT(checked, 10u);
}

INSTANTIATE_TEST_SUITE_P(Models, TransformersJsVectors,
                         ::testing::Values(JsCase{"llama", "Xenova/llama3-tokenizer", "llama3", true},
                                           JsCase{"llama", "Xenova/llama3-tokenizer-new", "llama3_1", true},
                                           JsCase{"llama", "Xenova/llama-tokenizer", "phi3_mini"},
                                           JsCase{"llama", "Xenova/llama-tokenizer", "llama2_sentencepiece"},
                                           JsCase{"qwen2", "Xenova/Qwen1.5-0.5B-Chat", "qwen3"},
                                           JsCase{"gpt2", "Xenova/gpt2", "gpt2", true}),
                         [](const auto& info) { return automodel::testing::param_name(info.param.model + "_" + info.param.tokenizer); });

}  // namespace
}  // namespace automodel::tokenizer
