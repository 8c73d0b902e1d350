// What the peft tests share: a tiny random llama and a LoRA section targeting some modules.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "automodel/config/recipe_config.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"

namespace automodel::peft::testing {

inline std::unique_ptr<models::CausalLM> tiny_llama() {
  const auto& arch = models::find_architecture("llama");
  auto model = models::build_model(hf::parse_model_config(arch.tiny_config_json, "tiny llama"), at::kFloat,
                                   c10::Device(c10::kCPU));
  models::init_random(*model, 3);
  return model;
}

// LoRA of rank 4 on `targets` (globs or module names).
inline config::PeftSection lora_on(std::vector<std::string> targets, double alpha) {
  config::PeftSection peft;
  peft.enabled = true;
  peft.target_modules = std::move(targets);
  peft.dim = 4;
  peft.alpha = alpha;
  return peft;
}

}  // namespace automodel::peft::testing
