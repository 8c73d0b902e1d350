// Which modules LoRA adapts: match_all_linear takes every linear layer but the model's output
// head, recognised by its weight (not by the name "lm_head"), so any architecture's head is safe.
#include <gtest/gtest.h>

#include <algorithm>

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

}  // namespace
}  // namespace automodel::peft
