// Live comparison with the official HF tokenizers library (npm tokenizers@0.23.2, installed by
// scripts/setup.sh into build/oracles when npm is available; skipped otherwise): 10,000 strings
// per tokenizer, random Unicode and real text, must encode to identical ids.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "automodel/tokenizer/tokenizer.h"
#include "automodel/tokenizer/unicode.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using automodel::testing::fixtures_dir;
using automodel::testing::read_fixture;
using automodel::testing::TempDir;

fs::path oracle_modules() {
  if (const char* dir = std::getenv("AUTOMODEL_NPM_ORACLE_DIR")) return dir;
  return fs::path(AUTOMODEL_BUILD_DIR) / "oracles" / "node_modules";
}

// Real text: every message of the OASST trees, split into paragraphs.
std::vector<std::string> real_texts() {
  std::vector<std::string> out;
  std::istringstream lines(read_fixture(fixtures_dir() / "datasets" / "oasst" / "en_100_tree.jsonl.gz"));
  std::string line;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& m) {
    if (m.contains("text")) out.push_back(m["text"].get<std::string>());
    for (const auto& r : m.value("replies", nlohmann::json::array())) walk(r);
  };
  while (std::getline(lines, line))
    if (!line.empty()) walk(nlohmann::json::parse(line)["prompt"]);
  return out;
}

// Random strings mixing scripts, digits, whitespace runs, emoji, combining marks, and the
// tokenizer's own added tokens (so special-token splitting is exercised).
std::vector<std::string> random_texts(size_t count, uint32_t seed, const std::vector<std::string>& real,
                                      const std::vector<std::string>& specials) {
  std::mt19937 rng(seed);
  const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0xA0, 0x24F}, {0x370, 0x3FF}, {0x400, 0x4FF}, {0x590, 0x5FF},
      {0x600, 0x6FF}, {0x900, 0x97F}, {0xE00, 0xE7F}, {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
      {0x1F300, 0x1F64F}, {0x300, 0x36F}, {0x2000, 0x206F}, {0xFF00, 0xFFEF}, {0x30, 0x39}};
  const char* spaces[] = {" ", "  ", "\n", "\n\n", "\t", " \n ", "   "};
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    if (i % 3 == 0 && !real.empty()) {  // a slice of real text
      const auto& r = real[rng() % real.size()];
      auto cps = decode_utf8(r);
      size_t b = rng() % (cps.size() + 1), len = rng() % 200;
      for (size_t k = b; k < std::min(cps.size(), b + len); ++k) append_utf8(s, cps[k]);
    } else {
      size_t len = 1 + rng() % 40;
      for (size_t k = 0; k < len; ++k) {
        uint32_t pick = rng() % 20;
        if (pick < 3) s += spaces[rng() % 7];
        else if (pick == 3 && !specials.empty()) s += specials[rng() % specials.size()];
        else {
          auto [lo, hi] = ranges[rng() % ranges.size()];
          append_utf8(s, lo + rng() % (hi - lo + 1));
        }
      }
    }
    out.push_back(s);
  }
  return out;
}

class TokenizerLiveOracle : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerLiveOracle, TenThousandStringsEncodeIdentically) {
  if (!fs::exists(oracle_modules() / "tokenizers")) GTEST_SKIP() << "npm tokenizers@0.23.2 not installed at " << oracle_modules();
  if (automodel::testing::run_command("node --version").exit_code != 0) GTEST_SKIP() << "node not installed";
  TempDir tmp;
  auto dir = fixtures_dir() / "tokenizers" / GetParam();
  auto json_text = read_fixture(fs::exists(dir / "tokenizer.json") ? dir / "tokenizer.json" : dir / "tokenizer.json.gz");
  std::ofstream(tmp / "tokenizer.json") << json_text;
  auto tok = Tokenizer::from_json(nlohmann::json::parse(json_text), GetParam());
  std::vector<std::string> specials;
  for (const auto& a : tok.added_tokens()) specials.push_back(a.content);
  auto texts = random_texts(10000, 1234, real_texts(), specials);
  {
    std::ofstream in(tmp / "in.jsonl");
    for (const auto& t : texts) in << nlohmann::json(t).dump() << "\n";
  }
  auto cmd = "node " + (automodel::testing::source_dir() / "tests" / "oracles" / "hf_tokenizers_encode.js").string() + " " +
             oracle_modules().string() + " " + (tmp / "tokenizer.json").string() + " " + (tmp / "in.jsonl").string() + " " +
             (tmp / "out.jsonl").string();
  auto result = automodel::testing::run_command(cmd);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::ifstream out(tmp / "out.jsonl");
  auto ours = tok.encode_batch(texts, false, 2);
  std::string line;
  size_t i = 0, mismatches = 0;
  while (std::getline(out, line) && i < texts.size()) {
    auto want = nlohmann::json::parse(line).get<std::vector<int32_t>>();
    if (ours[i] != want) {
      if (++mismatches <= 5) ADD_FAILURE() << "input " << i << " " << nlohmann::json(texts[i]).dump() << " differs";
    }
    ++i;
  }
  EXPECT_EQ(i, texts.size());
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << texts.size() << " strings differ";
}

INSTANTIATE_TEST_SUITE_P(Npm, TokenizerLiveOracle,
                         ::testing::Values("gpt2", "llama3", "llama3_1", "mistral7b_v0.1", "phi3_mini", "qwen3",
                                           "smollm2_135m_instruct"),
                         [](const auto& info) { return automodel::testing::param_name(info.param); });

}  // namespace
}  // namespace automodel::tokenizer
