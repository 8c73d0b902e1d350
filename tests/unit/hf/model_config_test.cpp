// config.json: v4 and v5 files, typed fields with clear errors, rope parameters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/rope_config.h"
#include "test_util.h"

namespace automodel::hf {
namespace {

std::string error_of(const std::function<void()>& f) { return automodel::testing::error_message_of<Error>(f); }

TEST(ModelConfig, ReadsV4FixtureFields) {
  auto config = load_model_config(automodel::testing::fixtures_dir() / "hf" / "llama_rope_llama3");
  EXPECT_EQ(config.model_type, "llama");
  EXPECT_EQ(config.architectures, std::vector<std::string>{"LlamaForCausalLM"});
  ASSERT_TRUE(config.dtype.has_value());
  EXPECT_EQ(*config.dtype, DType::F32);
  auto rope = parse_rope_config(config.fields(), 16);
  EXPECT_EQ(rope.type, "llama3");
  EXPECT_EQ(rope.dim, 16);
  EXPECT_DOUBLE_EQ(*rope.factor, 8.0);
  EXPECT_EQ(*rope.original_max_position_embeddings, 256);
  EXPECT_FALSE(rope.v5_semantics);
}

TEST(ModelConfig, ReadsV5DtypeAndRopeParameters) {
  auto config = parse_model_config(R"({"model_type": "llama", "dtype": "bfloat16", "max_position_embeddings": 4096,
      "rope_parameters": {"rope_type": "yarn", "rope_theta": 500000.0, "factor": 4.0,
                          "original_max_position_embeddings": 1024}})", "v5/config.json");
  EXPECT_EQ(*config.dtype, DType::BF16);
  auto rope = parse_rope_config(config.fields(), 64);
  EXPECT_TRUE(rope.v5_semantics);
  EXPECT_EQ(rope.type, "yarn");
  EXPECT_DOUBLE_EQ(rope.theta, 500000.0);
  EXPECT_EQ(*rope.original_max_position_embeddings, 1024);
}

TEST(ModelConfig, LegacyRopeScalingTypeKeyIsAccepted) {
  auto config = parse_model_config(R"({"model_type": "llama", "rope_scaling": {"type": "linear", "factor": 2.0}})", "c.json");
  EXPECT_EQ(parse_rope_config(config.fields(), 8).type, "linear");
}

TEST(ModelConfig, PartialRotaryFactorShrinksRotaryDim) {
  auto config = parse_model_config(R"({"model_type": "llama", "partial_rotary_factor": 0.5})", "c.json");
  EXPECT_EQ(parse_rope_config(config.fields(), 64).dim, 32);
}

TEST(ModelConfig, UnknownRopeTypeIsNotSupportedAndListsTypes) {
  auto config = parse_model_config(R"({"model_type": "llama", "rope_scaling": {"rope_type": "xpos", "factor": 2}})", "c.json");
  auto msg = error_of([&] { parse_rope_config(config.fields(), 8); });
  EXPECT_NE(msg.find("field 'rope_scaling.rope_type'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'xpos'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("llama3"), std::string::npos) << msg;
}

// Phi-3's first checkpoints call longrope "su"; transformers reads them as longrope.
TEST(ModelConfig, SuRopeTypeReadsAsLongrope) {
  auto config = parse_model_config(R"({"model_type": "phi3", "max_position_embeddings": 64,
    "original_max_position_embeddings": 16, "rope_scaling": {"type": "su", "short_factor": [1, 1], "long_factor": [2, 2]}})",
                                   "c.json");
  auto rope = parse_rope_config(config.fields(), 4);
  EXPECT_EQ(rope.type, "longrope");
  EXPECT_EQ(rope.long_factor, (std::vector<double>{2, 2}));
}

// v5 saves Gemma-3/OLMo-3 ropes per layer type; each layer type reads its own entry.
TEST(ModelConfig, PerLayerTypeRopeParametersAreReadPerType) {
  auto config = parse_model_config(R"({"model_type": "gemma3_text", "rope_parameters": {
    "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
    "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}})", "c.json");
  auto full = parse_rope_config(config.fields(), 8, "full_attention");
  auto local = parse_rope_config(config.fields(), 8, "sliding_attention");
  EXPECT_EQ(full.type, "linear");
  EXPECT_EQ(full.theta, 1000000.0);
  EXPECT_EQ(local.type, "default");
  EXPECT_EQ(local.theta, 10000.0);
  auto msg = error_of([&] { parse_rope_config(config.fields(), 8); });
  EXPECT_NE(msg.find("per-layer-type rope parameters are not supported by this architecture"), std::string::npos) << msg;
}

TEST(ModelConfig, LongropeFactorLengthIsChecked) {
  auto config = parse_model_config(R"({"model_type": "phi3", "rope_scaling": {"type": "longrope",
      "long_factor": [1.0, 2.0], "short_factor": [1.0, 1.0, 1.0, 1.0]}})", "c.json");
  auto msg = error_of([&] { parse_rope_config(config.fields(), 8); });
  EXPECT_NE(msg.find("long_factor"), std::string::npos) << msg;
  EXPECT_NE(msg.find("need 4 entries"), std::string::npos) << msg;
}

TEST(ModelConfig, WrongTypeNamesFileFieldExpectedAndFound) {
  auto config = parse_model_config(R"({"model_type": "llama", "hidden_size": "64"})", "m/config.json");
  auto msg = error_of([&] { config.fields().get_int("hidden_size"); });
  EXPECT_NE(msg.find("m/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'hidden_size'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("string \"64\""), std::string::npos) << msg;
}

TEST(ModelConfig, MissingRequiredFieldIsNamed) {
  auto config = parse_model_config(R"({"model_type": "llama"})", "m/config.json");
  auto msg = error_of([&] { config.fields().get_int("num_hidden_layers"); });
  EXPECT_NE(msg.find("'num_hidden_layers' is required but missing"), std::string::npos) << msg;
}

TEST(ModelConfig, IntegralFloatsAreAcceptedAsIntegersButFractionsAreNot) {
  auto config = parse_model_config(R"({"model_type": "x", "a": 8.0, "b": 8.5})", "c.json");
  EXPECT_EQ(config.fields().get_int("a"), 8);
  EXPECT_THROW(config.fields().get_int("b"), Error);
}

TEST(ModelConfig, MissingModelTypeAndInvalidJsonAreErrors) {
  EXPECT_NE(error_of([] { parse_model_config(R"({"hidden_size": 4})", "c.json"); }).find("'model_type'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_model_config("{oops", "c.json"); }).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of([] { parse_model_config("[]", "c.json"); }).find("expected a JSON object"), std::string::npos);
}

TEST(ModelConfig, FolderWithoutConfigJsonIsAnError) {
  automodel::testing::TempDir dir;
  auto msg = error_of([&] { load_model_config(dir.path()); });
  EXPECT_NE(msg.find("no config.json"), std::string::npos) << msg;
}

}  // namespace
}  // namespace automodel::hf
