// LoRA with AutoModel's semantics (target_modules globs on full module names, exclude_modules,
// match_all_linear, dim/alpha/dropout/init) and HF PEFT's file format: adapter_config.json and
// adapter_model.safetensors with "base_model.model."-prefixed keys. The one place that knows both.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "automodel/config/recipe_config.h"
#include "automodel/models/common/causal_lm.h"

namespace automodel::peft {

// --- targets (lora.cpp) ---

// fnmatch-style globs ("*_proj", "model.layers.*.mlp.*") match the full module name; a plain
// name matches the full name or its last component ("q_proj").
bool module_matches(const std::string& module_name, const std::vector<std::string>& patterns);

// AutoModel's rule for a linear module: every one under match_all_linear, else those target_modules
// match, else (exclude_modules alone) every one; then minus exclude_modules.
bool lora_rule_selects(const std::string& module_name, const config::PeftSection& peft);

// Wraps the linear modules the rule selects in fp32 LoraLinear adapters (B = 0, A per lora_A_init
// from `seed`) and returns their names; the model's output head stays without one (said when the
// rule selected it). No match is an error listing the linear modules there are.
std::vector<std::string> apply_lora(models::CausalLM& model, const config::PeftSection& peft, uint64_t seed);

// --- names and adapter files (adapter_io.cpp) ---

// The two files of a PEFT adapter folder.
inline constexpr char kAdapterWeightsFile[] = "adapter_model.safetensors";
inline constexpr char kAdapterConfigFile[] = "adapter_config.json";

// True for the adapter's own parameters ("<module>.lora_A.weight", "<module>.lora_B.weight"):
// the ones LoRA trains; the base's "<module>.weight" is not one.
bool is_adapter_parameter(const std::string& name);
// Our parameter name -> its key in adapter_model.safetensors ("base_model.model." + name).
std::string adapter_key(const std::string& param_name);
// A key of adapter_model.safetensors -> our parameter name (the inverse of adapter_key); an
// error for a key without PEFT's prefix.
std::string module_of_adapter_key(const std::string& key);

// The adapter's tensors under PEFT's names ("base_model.model.<module>.lora_A.weight").
std::vector<std::pair<std::string, at::Tensor>> adapter_tensors(const models::CausalLM& model);
// What adapter_config.json says of the model beyond the targets: `scope`, a composite (VLM)
// model's language-model body ("model.language_model"; "" for a plain causal LM), and whether
// the adapted layers store their weights (in, out) (GPT-2's Conv1D: PEFT's fan_in_fan_out).
struct AdapterLayout {
  std::string scope;
  bool fan_in_fan_out = false;
};
AdapterLayout adapter_layout(const models::CausalLM& model);
// adapter_model.safetensors + adapter_config.json (PEFT LoraConfig fields). target_modules is
// written as the adapted modules' leaf names, or, within a scope, as a regex limited to the
// language model: PEFT would otherwise also wrap the vision tower's modules of the same names
// when it loads the adapter.
void save_adapter(const models::CausalLM& model, const config::PeftSection& peft,
                  const std::vector<std::string>& target_modules, const std::string& base_model,
                  const std::filesystem::path& dir);
void save_adapter(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const config::PeftSection& peft,
                  const std::vector<std::string>& target_modules, const std::string& base_model,
                  const std::filesystem::path& dir, const AdapterLayout& layout = {});
// Copies adapter_model.safetensors into the adapters already attached (resume), in place,
// keeping requires_grad. Strict: a missing, unexpected or mis-shaped tensor is an error.
void load_adapter_weights(models::CausalLM& model, const std::filesystem::path& adapter_file);
// Reads a PEFT adapter folder, attaches adapters where its keys say and loads them strictly.
void load_adapter(models::CausalLM& model, const std::filesystem::path& dir);

}  // namespace automodel::peft
