// Which modules LoRA adapts: match_all_linear (or exclude_modules alone, as AutoModel) takes every
// linear layer but the model's output head, recognised by its weight (not by the name "lm_head"),
// so any architecture's head is safe.
#include <gtest/gtest.h>

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"

namespace automodel::peft {
namespace {

std::unique_ptr<models::CausalLM> tiny(const std::string& model_type) {
  const auto& arch = models::find_architecture(model_type);
  auto model = models::build_model(hf::parse_model_config(arch.tiny_config_json, "tiny " + model_type), at::kFloat,
                                   c10::Device(c10::kCPU));
  models::init_random(*model, 3);
  return model;
}

TEST(LoraTargets, MatchAllLinearAdaptsEveryLinearButTheOutputHead) {
  auto model = tiny("llama");  // untied: lm_head is a linear layer
  config::PeftSection peft;
  peft.enabled = true;
  peft.match_all_linear = true;
  peft.dim = 2;
  peft.alpha = 4;
  auto targets = apply_lora(*model, peft, 1);
  EXPECT_EQ(std::count(targets.begin(), targets.end(), "lm_head"), 0);
  // 2 layers x (q, k, v, o, gate, up, down).
  EXPECT_EQ(targets.size(), 14u);
  for (const auto& t : targets) EXPECT_NE(t.find("model.layers."), std::string::npos) << t;
}

// AutoModel's exclude_modules alone: every linear layer but the excluded ones (not just *_proj);
// the output head, which that rule also selects, stays without an adapter.
TEST(LoraTargets, ExcludeModulesAloneAdaptsEveryOtherLinearButTheHead) {
  auto model = tiny("llama");
  config::PeftSection peft;
  peft.enabled = true;
  peft.exclude_modules = {"*mlp*"};
  peft.dim = 2;
  peft.alpha = 4;
  EXPECT_TRUE(lora_rule_selects("lm_head", peft));
  EXPECT_FALSE(lora_rule_selects("model.layers.0.mlp.up_proj", peft));
  auto targets = apply_lora(*model, peft, 1);
  EXPECT_EQ(std::count(targets.begin(), targets.end(), "lm_head"), 0);
  EXPECT_EQ(targets.size(), 8u);  // 2 layers x (q, k, v, o)
  for (const auto& t : targets) EXPECT_NE(t.find(".self_attn."), std::string::npos) << t;
}

// PEFT refuses LoRA on a Mamba mixer's out_proj (and conv1d) for nemotron_h and the other Mamba
// model_types: named, it is an error before anything trains; under match_all_linear it is left out,
// so the adapter loads in PEFT.
TEST(LoraTargets, MambaOutProjIsRefusedByNameAndLeftOutOfAllLinearAsPeftDoes) {
  auto model = tiny("nemotron_h");
  config::PeftSection peft;
  peft.enabled = true;
  peft.dim = 2;
  peft.alpha = 4;
  peft.target_modules = {"in_proj", "out_proj"};
  std::string message;
  try {
    apply_lora(*model, peft, 1);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("PEFT refuses LoRA on out_proj and conv1d of nemotron_h"), std::string::npos) << message;
  EXPECT_NE(message.find("mixer.out_proj"), std::string::npos) << message;

  auto fresh = tiny("nemotron_h");
  peft.target_modules.clear();
  peft.match_all_linear = true;
  auto targets = apply_lora(*fresh, peft, 1);
  EXPECT_EQ(std::count_if(targets.begin(), targets.end(), [](const std::string& t) { return t.ends_with(".out_proj"); }),
            0);
  EXPECT_EQ(std::count_if(targets.begin(), targets.end(), [](const std::string& t) { return t.ends_with(".in_proj"); }),
            2);  // the two Mamba2 layers
}

}  // namespace
}  // namespace automodel::peft
