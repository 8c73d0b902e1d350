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

std::vector<std::string> apply_lora(models::CausalLM& model, const config::PeftSection& peft, uint64_t seed) {
  at::manual_seed(seed);
  const LoraOptions options{peft.dim, peft.alpha, peft.dropout, peft.dropout_position == "pre"};
  std::vector<std::string> names;
  const auto all = adaptable_modules(model);
  for (const auto& name : all) {
    bool wanted = peft.match_all_linear ? !is_output_head(model, name) : module_matches(name, peft.target_modules);
    if (!wanted || module_matches(name, peft.exclude_modules)) continue;
    auto& lora = LoraLinear::wrap(model, name, options);
    init_adapter(lora, peft.lora_A_init);
    names.push_back(name);
  }
  std::vector<std::string> examples(all.begin(), all.begin() + std::min<size_t>(all.size(), 8));
  AM_CHECK(!names.empty(), "[peft] target_modules [{}] match no Linear module of this {} model; its Linear modules "
           "include: {}", join(peft.target_modules, ", "), model.config().model_type, join(examples, ", "));
  return names;
}

}  // namespace automodel::peft
