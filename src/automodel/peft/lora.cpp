// LoRA targets: which linear modules get a LoraLinear (globs, exclusions, match_all_linear) and
// how a fresh adapter is initialised.
#include "automodel/peft/lora.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/normal.h>
#include <ATen/ops/uniform.h>
#include <ATen/ops/zeros.h>

#include <fnmatch.h>

#include <algorithm>
#include <cmath>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/peft/lora_linear.h"

namespace automodel::peft {
namespace {

std::string leaf(const std::string& name) { return name.substr(name.rfind('.') + 1); }

// The model's untied output head (lm_head, embed_out, ...): match_all_linear leaves it alone,
// whatever the architecture calls it.
bool is_output_head(models::CausalLM& model, const std::string& name) {
  auto* linear = dynamic_cast<models::LinearLayer*>(model.find_module(name));
  return linear && linear->weight().is_same(model.output_embedding());
}

// PEFT refuses LoRA on these modules of Mamba-based model_types (its fused kernels read their weights
// directly), so an adapter holding them would not load there.
bool peft_refuses(const models::CausalLM& model, const std::string& name) {
  static const std::vector<std::string> mamba_types{"falcon_h1", "mamba", "mamba2", "falcon_mamba", "nemotron_h"};
  const auto& type = model.config().model_type;
  const auto module = leaf(name);
  return std::find(mamba_types.begin(), mamba_types.end(), type) != mamba_types.end() &&
         (module == "out_proj" || module == "conv1d");
}

void init_adapter(LoraLinear& lora, const std::string& init) {
  at::NoGradGuard no_grad;
  auto& a = lora.lora_A().weight();  // (rank, in)
  auto fan_out = static_cast<double>(a.size(0)), fan_in = static_cast<double>(a.size(1));
  if (init == "xavier") {
    a.normal_(0.0, std::sqrt(2.0 / (fan_in + fan_out)));
  } else {  // kaiming_uniform_(a=sqrt(5)), torch.nn.Linear's default
    double bound = 1.0 / std::sqrt(fan_in);
    a.uniform_(-bound, bound);
  }
  lora.lora_B().weight().zero_();
}

}  // namespace

bool module_matches(const std::string& module_name, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p.find_first_of("*?[") != std::string::npos) {
      if (::fnmatch(p.c_str(), module_name.c_str(), 0) == 0) return true;
    } else if (p == module_name || p == leaf(module_name)) {
      return true;
    }
  }
  return false;
}

bool lora_rule_selects(const std::string& name, const config::PeftSection& peft) {
  const bool every_linear = peft.match_all_linear || peft.target_modules.empty();
  return (every_linear || module_matches(name, peft.target_modules)) && !module_matches(name, peft.exclude_modules);
}

std::vector<std::string> apply_lora(models::CausalLM& model, const config::PeftSection& peft, uint64_t seed) {
  at::manual_seed(seed);
  const LoraOptions options{peft.dim, peft.alpha, peft.dropout, peft.dropout_position == "pre"};
  std::vector<std::string> names;
  const auto all = adaptable_modules(model);
  size_t left_alone = 0;
  for (const auto& name : all) {
    if (!lora_rule_selects(name, peft)) continue;
    if (is_output_head(model, name)) {
      // The head's weight feeds the fused cross-entropy directly: an adapter there would not act.
      if (!peft.match_all_linear)
        log_info("[peft] the output head {} stays without LoRA (AutoModel's rule would adapt it; exclude it with "
                 "exclude_modules: [\"*{}*\"] to say so)", name, leaf(name));
      continue;
    }
    if (peft_refuses(model, name)) {
      AM_CHECK(peft.match_all_linear, "[peft] target_modules [{}] names {}, but PEFT refuses LoRA on out_proj and "
               "conv1d of {} (Mamba) models, so the adapter would not load in PEFT: remove it from target_modules",
               join(peft.target_modules, ", "), name, model.config().model_type);
      ++left_alone;
      continue;
    }
    auto& lora = LoraLinear::wrap(model, name, options);
    init_adapter(lora, peft.lora_A_init);
    names.push_back(name);
  }
  if (left_alone > 0)
    log_info("[peft] match_all_linear leaves the {} Mamba out_proj module(s) alone: PEFT refuses LoRA there on {} "
             "models", left_alone, model.config().model_type);
  std::vector<std::string> examples(all.begin(), all.begin() + std::min<size_t>(all.size(), 8));
  AM_CHECK(!names.empty(), "[peft] target_modules [{}] match no Linear module of this {} model; its Linear modules "
           "include: {}", join(peft.target_modules, ", "), model.config().model_type, join(examples, ", "));
  return names;
}

}  // namespace automodel::peft
