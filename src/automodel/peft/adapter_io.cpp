// PEFT adapter files: the "base_model.model." key prefix, adapter_model.safetensors and
// adapter_config.json, written for PEFT to load and read back (resume, generate, merge-lora).
#include <ATen/core/grad_mode.h>

#include <nlohmann/json.hpp>
#include <set>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/adapter_config.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/peft/lora.h"
#include "automodel/peft/lora_linear.h"

namespace fs = std::filesystem;

namespace automodel::peft {
namespace {

// PeftModel wraps the model as base_model (LoraModel) whose .model is ours.
constexpr std::string_view kKeyPrefix = "base_model.model.";

std::string leaf(const std::string& name) { return name.substr(name.rfind('.') + 1); }

}  // namespace

bool is_adapter_parameter(const std::string& name) {
  for (std::string_view part : {"lora_A.", "lora_B."}) {
    for (auto at = name.find(part); at != std::string::npos; at = name.find(part, at + 1))
      if (at == 0 || name[at - 1] == '.') return true;
  }
  return false;
}

std::string adapter_key(const std::string& param_name) { return std::string(kKeyPrefix) + param_name; }

std::string module_of_adapter_key(const std::string& key) {
  AM_CHECK(key.starts_with(kKeyPrefix), "[peft] adapter tensor '{}': expected a name starting with '{}'", key,
           kKeyPrefix);
  return key.substr(kKeyPrefix.size());
}

std::vector<std::pair<std::string, at::Tensor>> adapter_tensors(const models::CausalLM& model) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : model.named_parameters())
    if (is_adapter_parameter(p.name)) tensors.emplace_back(adapter_key(p.name), *p.tensor);
  return tensors;
}

AdapterLayout adapter_layout(const models::CausalLM& model) {
  AdapterLayout layout{model.config().composite ? model.config().composite->body : ""};
  for (const auto& [name, module] : model.named_modules())
    if (const auto* lora = dynamic_cast<const LoraLinear*>(module)) layout.fan_in_fan_out |= lora->fan_in_fan_out();
  return layout;
}

void save_adapter(const models::CausalLM& model, const config::PeftSection& peft,
                  const std::vector<std::string>& target_modules, const std::string& base_model, const fs::path& dir) {
  save_adapter(adapter_tensors(model), peft, target_modules, base_model, dir, adapter_layout(model));
}

namespace {

// PEFT's target_modules: the leaf names, or, for a composite, a regex PEFT full-matches against
// module paths. Those are transformers' in-memory paths, which may differ from the checkpoint's
// layout (a v4-layout file loads as model.language_model.*): the language model's modules are
// matched under its attribute, which every layout contains ("text_model." for Idefics3, else
// "language_model."; the vision tower's never do), and a projector's by their names below the
// wrapper's "model." (which v4 layouts lack).
nlohmann::json peft_target_modules(const std::vector<std::string>& modules, const std::string& scope) {
  std::set<std::string> leaves;
  std::vector<std::string> others;  // a composite's modules outside its language model
  for (const auto& name : modules) {
    if (scope.empty() || name.starts_with(scope + ".")) leaves.insert(leaf(name));
    else others.push_back(name.starts_with("model.") ? name.substr(6) : name);
  }
  std::vector<std::string> names(leaves.begin(), leaves.end());
  if (scope.empty()) return names;
  const auto attribute = scope.substr(scope.rfind('.') + 1);  // "model" in the v4 and Qwen2-VL layouts
  std::vector<std::string> alternatives;
  if (!names.empty())
    alternatives.push_back((attribute == "model" ? std::string("language_model") : attribute) + "\\..*\\.(" +
                           join(names, "|") + ")");
  for (auto name : others) {
    for (size_t at = 0; (at = name.find('.', at)) != std::string::npos; at += 2) name.replace(at, 1, "\\.");
    alternatives.push_back(name);
  }
  return alternatives.size() == 1 ? ".*" + alternatives[0] : ".*(?:" + join(alternatives, "|") + ")";
}

}  // namespace

void save_adapter(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const config::PeftSection& peft,
                  const std::vector<std::string>& target_modules, const std::string& base_model, const fs::path& dir,
                  const AdapterLayout& layout) {
  fs::create_directories(dir);
  models::save_tensors(tensors, dir, ~0ull, fs::path(kAdapterWeightsFile).stem().string());
  nlohmann::json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", base_model},
      {"r", peft.dim},
      {"lora_alpha", peft.alpha},
      {"lora_dropout", peft.dropout},
      {"target_modules", peft_target_modules(target_modules, layout.scope)},
      {"bias", "none"},
      {"fan_in_fan_out", layout.fan_in_fan_out},
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
  write_file_atomic(dir / kAdapterConfigFile, config.dump(2) + "\n");
}

void load_adapter_weights(models::CausalLM& model, const fs::path& adapter_file) {
  auto file = hf::SafetensorsCheckpoint::open(adapter_file);
  at::NoGradGuard no_grad;
  std::set<std::string> used;
  for (const auto& p : model.named_parameters()) {
    if (!is_adapter_parameter(p.name)) continue;
    auto key = adapter_key(p.name);
    AM_CHECK(file.contains(key), "[peft] {}: no tensor '{}' (was it saved with other peft settings or another model?)",
             adapter_file.string(), key);
    auto view = file.get(key);
    AM_CHECK(view.entry->shape == p.tensor->sizes().vec(), "[peft] {}: '{}' has shape {}, the adapter expects {}",
             adapter_file.string(), key, format_shape(view.entry->shape), format_shape(p.tensor->sizes().vec()));
    copy_view_into(view, *p.tensor);
    used.insert(key);
  }
  for (const auto& key : file.names())
    AM_CHECK(used.count(key), "[peft] {}: unexpected tensor '{}': this {} model has no such adapter parameter",
             adapter_file.string(), key, model.config().model_type);
}

void load_adapter(models::CausalLM& model, const fs::path& dir) {
  auto config_path = dir / kAdapterConfigFile;
  AM_CHECK(fs::is_regular_file(config_path), "[peft] {} not found: --adapter must be a PEFT adapter folder",
           config_path.string());
  auto config = hf::parse_adapter_config(read_file(config_path), config_path.string());
  // LoraLinear scales by alpha / r; effective_alpha folds rsLoRA's alpha / sqrt(r) into that.
  const LoraOptions options{config.r, config.effective_alpha()};
  auto file = hf::SafetensorsCheckpoint::open(dir / kAdapterWeightsFile);
  const auto linears = adaptable_modules(model);
  for (const auto& key : file.names()) {
    bool is_a = key.ends_with(".lora_A.weight"), is_b = key.ends_with(".lora_B.weight");
    AM_CHECK(key.starts_with(kKeyPrefix) && (is_a || is_b),
             "[peft] {}: unexpected tensor '{}' (expected base_model.model.<module>.lora_A/lora_B.weight)",
             dir.string(), key);
    if (!is_a) continue;
    auto param = module_of_adapter_key(key);
    auto module = param.substr(0, param.size() - std::string_view(".lora_A.weight").size());
    AM_CHECK(std::find(linears.begin(), linears.end(), module) != linears.end(),
             "[peft] {}: adapter for '{}', which is not a Linear module of this {} model", dir.string(), module,
             model.config().model_type);
    LoraLinear::wrap(model, module, options);
  }
  load_adapter_weights(model, dir / kAdapterWeightsFile);
}

}  // namespace automodel::peft
