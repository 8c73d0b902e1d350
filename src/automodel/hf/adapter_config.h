// A PEFT adapter_config.json as the LoRA loader needs it (torch-free, so it can be fuzzed):
// rank, alpha (rsLoRA folded in) and the fields that make an adapter unsupported here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace automodel::hf {

struct AdapterConfig {
  int64_t r = 0;
  double lora_alpha = 0;  // as written in the file
  bool use_rslora = false;
  std::vector<std::string> target_modules;  // empty when the file gives a regex string or none
  // What peft::LoraOptions::alpha should be: LoRA scales by alpha / r, rsLoRA by alpha / sqrt(r).
  double effective_alpha() const;
};

// Errors name `label`, the field, what was expected and what was found.
AdapterConfig parse_adapter_config(const std::string& text, const std::string& label);

}  // namespace automodel::hf
