#include "automodel/peft/lora.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/normal.h>
#include <ATen/ops/uniform.h>
#include <ATen/ops/zeros.h>

#include <fnmatch.h>

#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/adapter_config.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/weights.h"

namespace fs = std::filesystem;

namespace automodel::peft {
namespace {

constexpr const char* kKeyPrefix = "base_model.model.";

std::string leaf(const std::string& name) { return name.substr(name.rfind('.') + 1); }

std::vector<std::pair<std::string, models::Linear*>> linear_modules(models::CausalLM& model) {
  std::vector<std::pair<std::string, models::Linear*>> out;
  for (auto& [name, module] : model.named_modules()) {
    auto* linear = dynamic_cast<models::Linear*>(module);
    // lora_A/lora_B are Linears too: never adapt an adapter.
    if (linear && leaf(name) != "lora_A" && leaf(name) != "lora_B") out.emplace_back(name, linear);
  }
  return out;
}

void init_adapter(models::Linear& linear, const std::string& init) {
  at::NoGradGuard no_grad;
  auto& a = linear.lora()->lora_A->weight();  // (rank, in)
  auto fan_out = static_cast<double>(a.size(0)), fan_in = static_cast<double>(a.size(1));
  if (init == "xavier") {
    a.normal_(0.0, std::sqrt(2.0 / (fan_in + fan_out)));
  } else {  // kaiming_uniform_(a=sqrt(5)), torch.nn.Linear's default
    double bound = 1.0 / std::sqrt(fan_in);
    a.uniform_(-bound, bound);
  }
  linear.lora()->lora_B->weight().zero_();
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
  std::vector<std::string> names;
  std::vector<std::string> all;
  for (auto& [name, linear] : linear_modules(model)) {
    all.push_back(name);
    bool wanted = peft.match_all_linear ? leaf(name) != "lm_head" : module_matches(name, peft.target_modules);
    if (!wanted || module_matches(name, peft.exclude_modules)) continue;
    auto options = linear->weight().options().dtype(at::kFloat);
    linear->attach_lora(peft.dim, peft.alpha, peft.dropout, peft.dropout_position == "pre", options);
    init_adapter(*linear, peft.lora_A_init);
    names.push_back(name);
  }
  std::vector<std::string> examples(all.begin(), all.begin() + std::min<size_t>(all.size(), 8));
  AM_CHECK(!names.empty(), "[peft] target_modules [{}] match no Linear module of this {} model; its Linear modules "
           "include: {}", join(peft.target_modules, ", "), model.config().model_type, join(examples, ", "));
  return names;
}

std::vector<std::pair<std::string, at::Tensor>> adapter_tensors(const models::CausalLM& model) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : model.named_parameters())
    if (p.name.find(".lora_A.") != std::string::npos || p.name.find(".lora_B.") != std::string::npos)
      tensors.emplace_back(kKeyPrefix + p.name, *p.tensor);
  return tensors;
}

void save_adapter(const models::CausalLM& model, const config::PeftSection& peft,
                  const std::vector<std::string>& target_modules, const std::string& base_model, const fs::path& dir) {
  save_adapter(adapter_tensors(model), peft, target_modules, base_model, dir);
}

void save_adapter(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const config::PeftSection& peft,
                  const std::vector<std::string>& target_modules, const std::string& base_model, const fs::path& dir) {
  fs::create_directories(dir);
  models::save_tensors(tensors, dir, ~0ull, "adapter_model");
  std::set<std::string> leaves;
  for (const auto& name : target_modules) leaves.insert(leaf(name));
  nlohmann::json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", base_model},
      {"r", peft.dim},
      {"lora_alpha", peft.alpha},
      {"lora_dropout", peft.dropout},
      {"target_modules", std::vector<std::string>(leaves.begin(), leaves.end())},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"use_rslora", false},
      {"use_dora", false},
      {"modules_to_save", nullptr},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", nlohmann::json::object()},
      {"alpha_pattern", nlohmann::json::object()},
      {"revision", nullptr},
  };
  write_file_atomic(dir / "adapter_config.json", config.dump(2) + "\n");
}

void load_adapter(models::CausalLM& model, const fs::path& dir) {
  auto config_path = dir / "adapter_config.json";
  AM_CHECK(fs::is_regular_file(config_path), "[peft] {} not found: --adapter must be a PEFT adapter folder",
           config_path.string());
  auto config = hf::parse_adapter_config(read_file(config_path), config_path.string());
  auto rank = config.r;
  auto alpha = config.effective_alpha();  // attach_lora divides by r; rsLoRA wants alpha / sqrt(r)
  auto file = hf::SafetensorsCheckpoint::open(dir / "adapter_model.safetensors");
  std::map<std::string, models::Linear*> linears;
  for (auto& [name, linear] : linear_modules(model)) linears[name] = linear;
  for (const auto& key : file.names()) {
    bool is_a = key.ends_with(".lora_A.weight"), is_b = key.ends_with(".lora_B.weight");
    AM_CHECK(key.starts_with(kKeyPrefix) && (is_a || is_b),
             "[peft] {}: unexpected tensor '{}' (expected base_model.model.<module>.lora_A/lora_B.weight)",
             dir.string(), key);
    if (!is_a) continue;
    auto module = key.substr(strlen(kKeyPrefix), key.size() - strlen(kKeyPrefix) - strlen(".lora_A.weight"));
    auto it = linears.find(module);
    AM_CHECK(it != linears.end(), "[peft] {}: adapter for '{}', which is not a Linear module of this {} model",
             dir.string(), module, model.config().model_type);
    it->second->attach_lora(rank, alpha, 0.0, false, it->second->weight().options().dtype(at::kFloat));
  }
  at::NoGradGuard no_grad;
  for (const auto& key : file.names()) {
    auto module = key.substr(strlen(kKeyPrefix));
    auto dot = module.rfind(".lora_");
    auto it = linears.find(module.substr(0, dot));
    AM_CHECK(it != linears.end() && it->second->lora(), "[peft] {}: '{}' has no matching lora_A tensor", dir.string(),
             key);
    auto* linear = it->second;
    auto& target = module.ends_with(".lora_A.weight") ? linear->lora()->lora_A->weight() : linear->lora()->lora_B->weight();
    auto view = file.get(key);
    AM_CHECK(view.entry->shape == target.sizes().vec(), "[peft] {}: '{}' has shape {}, expected {} (r = {})",
             dir.string(), key, format_shape(view.entry->shape), format_shape(target.sizes().vec()), rank);
    copy_view_into(view, target);
  }
}

}  // namespace automodel::peft
