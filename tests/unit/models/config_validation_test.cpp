// config.json fields are validated before anything is allocated (issue 17 §3): every error names
// the file, the field, what was expected and what was found. Swept over every registered
// architecture, so a new one is covered without a new test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/registry.h"
#include "test_util.h"

namespace automodel::models {
namespace {

const char* kLabel = "hostile/config.json";

// The error building `config` gives ("<no error>" when it builds).
std::string build_error(const nlohmann::json& config) {
  return testing::error_message_of<Error>([&] {
    build_model(hf::model_config_from_json(config, kLabel), at::kFloat, c10::Device(c10::kCPU));
  });
}

void expect_names(const std::string& message, const std::string& field, const std::string& expected,
                  const std::string& found) {
  EXPECT_NE(message.find(kLabel), std::string::npos) << message;
  EXPECT_NE(message.find("field '" + field + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("expected " + expected), std::string::npos) << message;
  EXPECT_NE(message.find("found " + found), std::string::npos) << message;
}

class EveryArchitecture : public ::testing::TestWithParam<std::string> {
 protected:
  nlohmann::json tiny() const { return nlohmann::json::parse(find_architecture(GetParam()).tiny_config_json); }
};

// Every integer size, negative: the field is named (never "vector larger than max_size()").
TEST_P(EveryArchitecture, NegativeIntegerFieldsAreNamed) {
  auto base = tiny();
  ASSERT_EQ(build_error(base), "<no error>");
  for (const auto& [key, value] : base.items()) {
    if (!value.is_number_integer()) continue;
    auto config = base;
    config[key] = -1;
    auto message = build_error(config);
    expect_names(message, key, "", "-1");
  }
}

// Every float parameter (eps, rope base, scaling factors, nested ones too), zero and negative.
TEST_P(EveryArchitecture, NonPositiveFloatFieldsAreNamed) {
  auto base = tiny();
  auto check = [&](const nlohmann::json::json_pointer& where, const std::string& field) {
    for (double bad : {0.0, -1.0}) {
      auto config = base;
      config[where] = bad;
      auto message = build_error(config);
      EXPECT_NE(message.find("field '" + field + "'"), std::string::npos) << field << " = " << bad << ": " << message;
      EXPECT_NE(message.find(kLabel), std::string::npos) << message;
    }
  };
  for (const auto& [key, value] : base.items()) {
    if (value.is_number_float() && key != "router_aux_loss_coef") check(nlohmann::json::json_pointer("/" + key), key);
    if (value.is_object())
      for (const auto& [inner, v] : value.items())
        if (v.is_number()) check(nlohmann::json::json_pointer("/" + key + "/" + inner), key + "." + inner);
  }
}

TEST_P(EveryArchitecture, HugeSizesFailBeforeAllocating) {
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "n_embd", "n_layer"}) {
    auto config = tiny();
    if (!config.contains(key)) continue;
    config[key] = int64_t{1} << 40;
    expect_names(build_error(config), key, "an integer in [1, ", "1099511627776");
  }
}

// Every size in range, their product beyond any machine: refused before allocating, naming the
// file, the size and the fields to check (never the allocator's own error).
TEST_P(EveryArchitecture, AModelLargerThanMemoryFailsBeforeAllocating) {
  auto config = tiny();
  for (const char* key : {"hidden_size", "n_embd"})
    if (config.contains(key)) config[key] = 1 << 17;
  for (const char* key : {"intermediate_size", "n_inner"})
    if (config.contains(key)) config[key] = 1 << 19;
  for (const char* key : {"num_hidden_layers", "n_layer"})
    if (config.contains(key)) config[key] = 4000;
  if (config.contains("head_dim")) config["head_dim"] = 1 << 15;
  config.erase("layer_types");  // a per-layer list would no longer match: the default schedule instead
  auto message = build_error(config);
  EXPECT_NE(message.find(kLabel), std::string::npos) << message;
  EXPECT_NE(message.find("more than this machine's memory"), std::string::npos) << message;
  EXPECT_NE(message.find("check the sizes in config.json"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryArchitecture, ::testing::ValuesIn([] {
                           std::vector<std::string> names;
                           for (const auto& arch : architectures()) names.push_back(arch.model_type);
                           return names;
                         }()),
                         [](const auto& info) { return info.param; });

nlohmann::json llama() { return nlohmann::json::parse(find_architecture("llama").tiny_config_json); }

TEST(ConfigValidation, NumHiddenLayersMinusOneNamesTheField) {
  auto config = llama();
  config["num_hidden_layers"] = -1;
  expect_names(build_error(config), "num_hidden_layers", "an integer in [1, 4096]", "-1");
}

TEST(ConfigValidation, RopeThetaAndEpsMustBePositive) {
  auto config = llama();
  config["rope_theta"] = 0;
  expect_names(build_error(config), "rope_theta", "a finite number > 0", "0");
  config = llama();
  config["rms_norm_eps"] = -1e-6;
  expect_names(build_error(config), "rms_norm_eps", "a finite number > 0", "-1e-06");
}

TEST(ConfigValidation, HeadCountsMustDivide) {
  auto config = llama();  // 4 heads
  config["num_key_value_heads"] = 3;
  expect_names(build_error(config), "num_attention_heads", "a multiple of num_key_value_heads (3)", "4");
  config["num_key_value_heads"] = 8;
  expect_names(build_error(config), "num_key_value_heads", "an integer in [1, 4]", "8");
  config = llama();
  config["hidden_size"] = 30;
  expect_names(build_error(config), "hidden_size", "a multiple of num_attention_heads (4)", "30");
  config["head_dim"] = 8;  // an explicit head_dim lifts the divisibility rule, as in transformers
  EXPECT_EQ(build_error(config), "<no error>");
}

TEST(ConfigValidation, WrongTypesAndNonIntegralNumbersAreNamed) {
  auto config = llama();
  config["hidden_size"] = "32";
  expect_names(build_error(config), "hidden_size", "an integer", "string");
  config["hidden_size"] = 1e30;  // beyond int64: refused, never cast
  expect_names(build_error(config), "hidden_size", "an integer", "number");
  config["hidden_size"] = 32.5;
  expect_names(build_error(config), "hidden_size", "an integer", "number 32.5");
  config["hidden_size"] = 18446744073709551615ull;
  expect_names(build_error(config), "hidden_size", "an integer", "number 18446744073709551615");
}

TEST(ConfigValidation, RopeScalingParametersAreChecked) {
  auto config = llama();
  config["rope_scaling"]["high_freq_factor"] = 1.0;  // == low_freq_factor: a division by zero
  expect_names(build_error(config), "rope_scaling.high_freq_factor", "a number greater than low_freq_factor", "1");
  config = llama();
  config["partial_rotary_factor"] = 2.0;
  expect_names(build_error(config), "partial_rotary_factor", "a number in (0, 1]", "2");
  config = llama();
  config["max_position_embeddings"] = 0;
  expect_names(build_error(config), "max_position_embeddings", "an integer in [1, ", "0");
}

TEST(ConfigValidation, ArchitectureSpecificFields) {
  auto mixtral = nlohmann::json::parse(find_architecture("mixtral").tiny_config_json);
  mixtral["num_experts_per_tok"] = 5;  // of 4 experts
  expect_names(build_error(mixtral), "num_experts_per_tok", "an integer in [1, 4]", "5");
  auto mistral = nlohmann::json::parse(find_architecture("mistral").tiny_config_json);
  mistral["sliding_window"] = 0;
  expect_names(build_error(mistral), "sliding_window", "an integer in [1, ", "0");
  auto qwen2 = nlohmann::json::parse(find_architecture("qwen2").tiny_config_json);
  qwen2["max_window_layers"] = -3;
  expect_names(build_error(qwen2), "max_window_layers", "an integer in [0, ", "-3");
  auto gpt2 = nlohmann::json::parse(find_architecture("gpt2").tiny_config_json);
  gpt2["n_head"] = 5;
  expect_names(build_error(gpt2), "n_embd", "a multiple of n_head (5)", "32");
  gpt2["n_head"] = 4;
  gpt2["layer_norm_epsilon"] = -1;
  expect_names(build_error(gpt2), "layer_norm_epsilon", "a finite number > 0", "-1");
}

// Dropout in config.json (HF applies it in training; we do not) is said at build, never silently
// dropped; zero probabilities say nothing.
TEST(ConfigValidation, DropoutProbabilitiesAboveZeroAreReportedAsHavingNoEffect) {
  auto config = nlohmann::json::parse(find_architecture("llama").tiny_config_json);
  config["attention_dropout"] = 0.1;
  config["resid_pdrop"] = 0.0;
  ::testing::internal::CaptureStderr();
  build_model(hf::model_config_from_json(config, "d/config.json"), at::kFloat, c10::Device(c10::kCPU));
  auto said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("d/config.json: attention_dropout=0.1 has no effect"), std::string::npos) << said;
  EXPECT_EQ(said.find("resid_pdrop"), std::string::npos) << said;
}

}  // namespace
}  // namespace automodel::models
