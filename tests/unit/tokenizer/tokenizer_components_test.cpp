// Tokenizer components on small hand-written tokenizer.json specs, and bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

#include "automodel/common/error.h"
#include "automodel/tokenizer/tokenizer.h"

namespace automodel::tokenizer {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) { return automodel::testing::error_message_of<Error>(f); }

json tiny_bpe() {
  return json::parse(R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<unk>": 5},
              "merges": ["a b", "ab c"], "unk_token": "<unk>", "fuse_unk": true},
    "added_tokens": [{"id": 6, "content": "<eos>", "special": true}],
    "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "<eos>", "type_id": 0}}],
                       "special_tokens": {"<eos>": {"id": "<eos>", "ids": [6], "tokens": ["<eos>"]}}}
  })");
}

TEST(Tokenizer, BpeAppliesMergesByRankAndFusesUnknowns) {
  auto tok = Tokenizer::from_json(tiny_bpe(), "tiny");
  EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{4}));
  EXPECT_EQ(tok.encode("abxyc"), (std::vector<int32_t>{3, 5, 2}));
  EXPECT_EQ(tok.encode("ab<eos>c"), (std::vector<int32_t>{3, 6, 2}));
  EXPECT_EQ(tok.encode("ab", true), (std::vector<int32_t>{3, 6}));
  EXPECT_EQ(tok.decode({3, 6}, true), "ab");
  EXPECT_TRUE(tok.is_special(6));
}

TEST(Tokenizer, BatchEncodingMatchesSequentialInOrder) {
  auto tok = Tokenizer::from_json(tiny_bpe(), "tiny");
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(std::string(static_cast<size_t>(i % 7), 'a') + "bc");
  auto batch = tok.encode_batch(texts, true, 2);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], tok.encode(texts[i], true)) << i;
}

TEST(Tokenizer, InvalidUtf8InputNamesTheOffset) {
  auto tok = Tokenizer::from_json(tiny_bpe(), "tiny");
  auto msg = error_of([&] { tok.encode(std::string("ab\xC3(", 4)); });
  EXPECT_NE(msg.find("not valid UTF-8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 2"), std::string::npos) << msg;
}

TEST(Tokenizer, MalformedSpecsGiveClearErrors) {
  EXPECT_NE(error_of([] { Tokenizer::from_json(json::parse(R"({"normalizer": null})"), "t.json"); }).find("missing field 'model'"),
            std::string::npos);
  auto bad_merge = tiny_bpe();
  bad_merge["model"]["merges"].push_back("a zz");
  EXPECT_NE(error_of([&] { Tokenizer::from_json(bad_merge, "t.json"); }).find("merges[2]: 'a' or 'zz' is not in the vocabulary"),
            std::string::npos);
  auto unknown = tiny_bpe();
  unknown["pre_tokenizer"] = json::parse(R"({"type": "Fancy"})");
  auto msg = error_of([&] { Tokenizer::from_json(unknown, "t.json"); });
  EXPECT_NE(msg.find("unknown pre_tokenizer type 'Fancy'"), std::string::npos) << msg;
  auto bad_id = tiny_bpe();
  bad_id["model"]["vocab"]["x"] = -4;
  EXPECT_NE(error_of([&] { Tokenizer::from_json(bad_id, "t.json"); }).find("id of 'x' must be a non-negative integer"),
            std::string::npos);
  auto bad_regex = tiny_bpe();
  bad_regex["pre_tokenizer"] = json::parse(R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})");
  EXPECT_NE(error_of([&] { Tokenizer::from_json(bad_regex, "t.json"); }).find("invalid regex"), std::string::npos);
}

TEST(Tokenizer, WordPieceGreedyLongestMatchWithPrefix) {
  auto tok = Tokenizer::from_json(json::parse(R"({
    "normalizer": {"type": "BertNormalizer", "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "!": 4, "hi": 5},
              "unk_token": "[UNK]", "continuing_subword_prefix": "##"},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true}
  })"), "wp");
  EXPECT_EQ(tok.encode("Unaffable! hi xyz"), (std::vector<int32_t>{1, 2, 3, 4, 5, 0}));
  EXPECT_EQ(tok.decode({1, 2, 3, 4, 5}), "unaffable! hi");
}

TEST(Tokenizer, NmtNormalizerCharDelimiterSplitAndCtcDecoder) {
  auto tok = Tokenizer::from_json(json::parse(R"({
    "normalizer": {"type": "Nmt"},
    "pre_tokenizer": {"type": "CharDelimiterSplit", "delimiter": "-"},
    "model": {"type": "WordLevel", "vocab": {"<pad>": 0, "a b": 1, "c": 2, "|": 3, "<unk>": 4}, "unk_token": "<unk>"},
    "decoder": {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": true}
  })"), "ctc");
  // \x01 is dropped and \t becomes a space (Nmt); "-" splits and is removed.
  EXPECT_EQ(tok.encode("a\x01\tb-c-zz"), (std::vector<int32_t>{1, 2, 4}));
  // Repeats collapse, pads vanish, the delimiter becomes a space.
  EXPECT_EQ(tok.decode({2, 2, 0, 3, 2}), "c c");
}

TEST(Tokenizer, UnigramPicksHighestScoringSegmentation) {
  auto tok = Tokenizer::from_json(json::parse(R"({
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["\u2581", -2], ["\u2581ab", -1.5], ["a", -1],
              ["b", -1], ["\u2581a", -1.2], ["c", -3]]},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"}
  })"), "uni");
  EXPECT_EQ(tok.encode("ab a"), (std::vector<int32_t>{2, 5}));
  EXPECT_EQ(tok.encode("ax"), (std::vector<int32_t>{5, 0}));
  EXPECT_EQ(tok.decode({2, 5}), "ab a");
}

}  // namespace
}  // namespace automodel::tokenizer
