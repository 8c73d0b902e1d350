// Recipes with bounded resources (issue 17 §2): alias expansion, nesting, override keys and values
// and model.torch_dtype give clear errors within seconds.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "automodel/common/error.h"
#include "automodel/config/overrides.h"
#include "automodel/config/recipe_config.h"
#include "automodel/config/yaml_json.h"
#include "test_util.h"

namespace automodel::config {
namespace {

std::string error_of(const std::function<void()>& f) { return testing::error_message_of<Error>(f); }

// `levels` anchors, each a list of `width` aliases of the one before: width^levels values.
std::string alias_bomb(int levels, int width, const std::string& indent = "") {
  std::string text = indent + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= levels; ++i) {
    text += indent + "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < width; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  return text;
}

TEST(YamlLimits, AliasBombIsRefusedQuicklyNamingTheLimit) {
  auto start = std::chrono::steady_clock::now();
  std::string text = "model:\n  name: x\nbomb:\n" + alias_bomb(10, 10, "  ");
  ASSERT_LT(text.size(), 1500u);
  auto message = error_of([&] { parse_yaml(text, "bomb.yaml"); });
  EXPECT_NE(message.find("bomb.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("more than 1000000 values"), std::string::npos) << message;
  EXPECT_NE(message.find("aliases"), std::string::npos) << message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(YamlLimits, ModestAliasUseStillWorks) {
  auto tree = parse_yaml(alias_bomb(3, 4), "ok.yaml");  // 10 * 4^3 values
  EXPECT_EQ(tree["a3"].size(), 4u);
  EXPECT_EQ(tree["a3"][0][0][0].size(), 10u);
}

TEST(YamlLimits, SelfReferentialAliasIsRefused) {
  auto message = error_of([] { parse_yaml("loop: &l [1, *l]\n", "loop.yaml"); });
  EXPECT_NE(message.find("loop.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("nesting depth exceeds the limit"), std::string::npos) << message;
}

TEST(YamlLimits, DeepNestingIsRefusedWithItsCause) {
  for (int depth : {600, 100000}) {
    std::string text = "deep: " + std::string(depth, '[') + std::string(depth, ']') + "\n";
    auto message = error_of([&] { parse_yaml(text, "deep.yaml"); });
    EXPECT_NE(message.find("deep.yaml line 1"), std::string::npos) << message;
    EXPECT_NE(message.find("nesting depth exceeds"), std::string::npos) << message;
  }
}

TEST(YamlLimits, OverrideValuesAndKeysAreBounded) {
  nlohmann::json tree = nlohmann::json::object();
  std::string bomb = "[" + std::string(3000, '[') + std::string(3000, ']') + "]";
  EXPECT_NE(error_of([&] { apply_override(tree, {"a.b", bomb}); }).find("nesting depth exceeds"), std::string::npos);
  std::string deep_key = "a";
  for (int i = 0; i < 100000; ++i) deep_key += ".a";
  auto message = error_of([&] { apply_override(tree, {deep_key, "1"}); });
  EXPECT_NE(message.find("100001 dotted parts, expected at most 512"), std::string::npos) << message;
}

TEST(YamlLimits, BytesThatAreNotUtf8AreRefusedWithTheirLineAndColumn) {
  auto message = error_of([] { config::parse_yaml("model:\n  name: ab\xff\xfe\n", "bad.yaml"); });
  EXPECT_NE(message.find("bad.yaml line 2 column 11: not valid UTF-8 (byte 0xff)"), std::string::npos) << message;
  EXPECT_EQ(error_of([] { config::parse_yaml("\xc3\xa9t\xc3\xa9: 1\n", "ok.yaml"); }), "<no error>");
}

TEST(YamlLimits, TorchDtypeOutsideTheComputeDtypesIsNamed) {
  auto tree = parse_yaml(R"(
model:
  pretrained_model_name_or_path: some/model
  torch_dtype: fp64
dataset:
  _target_: nemo_automodel.components.datasets.llm.squad.make_squad_dataset
  dataset_name: data/squad.jsonl
)", "r.yaml");
  auto message = error_of([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(message.find("r.yaml: field 'model.torch_dtype': expected auto, fp32, bf16 or fp16"), std::string::npos)
      << message;
  EXPECT_NE(message.find("found 'fp64'"), std::string::npos) << message;
  tree["model"]["torch_dtype"] = "bfloat16";
  EXPECT_EQ(parse_recipe(tree, "r.yaml").model.torch_dtype, "bfloat16");
}

}  // namespace
}  // namespace automodel::config
