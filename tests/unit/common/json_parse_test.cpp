// Bounded JSON parsing (issue 17 §2): deep nesting in any user file is refused with the file, the
// limit and the depth found, before nlohmann builds (and recursively copies) a tree.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/safetensors_header.h"
#include "test_util.h"

namespace automodel {
namespace {

std::string error_of(const std::function<void()>& f) { return testing::error_message_of<Error>(f); }
std::string nested(char open, char close, int depth) { return std::string(depth, open) + std::string(depth, close); }

TEST(JsonParse, AcceptsNestingUpToTheLimit) {
  auto value = parse_json(nested('[', ']', kMaxJsonDepth), "ok.json");
  EXPECT_TRUE(value.is_array());
}

// Python's json.dump writes float('inf') / float('nan') as bare words (Nemotron-H's config.json:
// "time_step_limit": [0.0, Infinity]); the same words inside strings stay text.
TEST(JsonParse, ReadsPythonsInfinityAndNanOutsideStringsOnly) {
  auto value = parse_json(R"({"limit": [0.0, Infinity, -Infinity], "x": NaN, "s": "Infinity \" NaN", "N": 1})",
                          "config.json");
  EXPECT_EQ(value["limit"][1].get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(value["limit"][2].get<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(value["x"].is_null());
  EXPECT_EQ(value["s"].get<std::string>(), "Infinity \" NaN");
  EXPECT_EQ(value["N"].get<int>(), 1);
  EXPECT_EQ(parse_ordered_json("[Infinity]", "a.json")[0].get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(parse_json_or_discarded("{\"a\": Infinityy}", "row").is_discarded());
}

TEST(JsonParse, RefusesDeepArraysNamingFileLimitAndDepth) {
  auto start = std::chrono::steady_clock::now();
  auto message = error_of([] { parse_json(nested('[', ']', 100000), "models/x/config.json"); });
  EXPECT_NE(message.find("models/x/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("nesting depth 100000"), std::string::npos) << message;
  EXPECT_NE(message.find("limit of 512"), std::string::npos) << message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(JsonParse, CountsObjectsAndMixedNestingAndNamesTheLine) {
  std::string text = "{\n\"a\": 1,\n\"b\": ";
  for (int i = 0; i < 600; ++i) text += i % 2 ? "[" : "{\"k\":";
  auto message = error_of([&] { parse_json(text, "mixed.json"); });
  EXPECT_NE(message.find("nesting depth 601"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
}

TEST(JsonParse, BracketsInsideStringsAndEscapesDoNotCount) {
  std::string text = "[\"" + std::string(2000, '[') + "\\\"" + std::string(2000, '{') + "\"]";
  EXPECT_EQ(parse_json(text, "s.json")[0].get<std::string>().size(), 4001u);
}

TEST(JsonParse, InvalidJsonNamesTheFile) {
  auto message = error_of([] { parse_json("{\"a\": ", "broken.json"); });
  EXPECT_NE(message.find("broken.json: not valid JSON"), std::string::npos) << message;
  EXPECT_TRUE(parse_json_or_discarded("{oops", "x").is_discarded());
}

TEST(JsonParse, DiscardingParseStillRefusesDepthWithTheLine) {
  auto message = error_of([] { parse_json_or_discarded(nested('{', '}', 1000), "rows.jsonl", 7); });
  EXPECT_NE(message.find("rows.jsonl"), std::string::npos) << message;
  EXPECT_NE(message.find("line 7"), std::string::npos) << message;
}

TEST(JsonParse, OrderedParseIsBoundedToo) {
  EXPECT_NE(error_of([] { parse_ordered_json(nested('[', ']', 513), "o.json"); }).find("limit of 512"),
            std::string::npos);
}

TEST(JsonParse, ConfigJsonWithADeepFieldIsRefused) {
  std::string text = R"({"model_type": "llama", "x": )" + nested('[', ']', 100000) + "}";
  auto message = error_of([&] { hf::parse_model_config(text, "deep/config.json"); });
  EXPECT_NE(message.find("deep/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("exceeds the limit of 512"), std::string::npos) << message;
}

TEST(JsonParse, SafetensorsHeaderWithDeepMetadataIsRefused) {
  std::string header = R"({"__metadata__": {"a": )" + nested('[', ']', 5000) + "}}";
  auto message = error_of([&] { hf::parse_safetensors_header(header, 0, "w.safetensors"); });
  EXPECT_NE(message.find("w.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("nesting depth 5002"), std::string::npos) << message;
}

}  // namespace
}  // namespace automodel
