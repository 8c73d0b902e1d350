#include "automodel/models/registry.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/model_source.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/vision/vision_language.h"

namespace automodel::models {

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> kArchitectures = {
#define AUTOMODEL_ARCHITECTURE(name) name##_architecture(),
#include "automodel/models/architectures.inc"
#undef AUTOMODEL_ARCHITECTURE
  };
  return kArchitectures;
}

std::string models_markdown() {
  std::string out =
      "# Supported models\n\n"
      "<!-- Generated from the registry (src/automodel/models/architectures.inc) by\n"
      "     AUTOMODEL_UPDATE_DOCS=1 build/tests/registry_sweep_tests --gtest_filter='ModelsDoc.*'. Do not edit. -->\n\n"
      "Any Hugging Face checkpoint whose `config.json` names one of these `model_type`s loads from its folder\n"
      "as it ships. Each is checked against transformers (forward, every gradient, 3 training steps full and\n"
      "LoRA, where LoRA applies) by `tests/oracle/arch_sweep_test.cpp`. `automodel list-models` prints the same\n"
      "table.\n\n"
      "A composite (VLM) checkpoint whose `text_config` has one of these `model_type`s (Qwen3.5 `qwen3_5`,\n"
      "Qwen3.5-MoE `qwen3_5_moe`, Llama 4 `llama4`, Gemma 4 `gemma4` incl. E2B/E4B, Gemma 3 `gemma3`, Mistral Small\n"
      "3.x `mistral3`, ...) loads its language model for text fine-tuning, under the checkpoint's own names\n"
      "(`model.language_model.*`, v4's `language_model.model.*`, Idefics3's `model.text_model.*`); the vision (and\n"
      "audio) towers and projectors are skipped on load and carried unchanged into exported folders, which load\n"
      "as the wrapper class (each of these checked against transformers).\n\n"
      "FP8 block-quantized checkpoints (`quantization_config` with `quant_method: fp8` and `weight_block_size`,\n"
      "as DeepSeek-V3 and the `-FP8` releases ship) and gpt-oss's MXFP4 experts (`quant_method: mxfp4`) are\n"
      "dequantized on load; exports hold the dequantized weights in the base's dtype, without the\n"
      "`quantization_config`.\n\n"
      "| model_type | HF class | features |\n|---|---|---|\n";
  for (const auto& arch : architectures())
    out += fmt::format("| `{}` | `{}` | {} |\n", arch.model_type, arch.hf_class, arch.features);
  out +=
      "\n## Vision-language models\n\n"
      "Fine-tuned whole (vision tower, projector, language model) by `recipe: FinetuneRecipeForVLM`, with images\n"
      "preprocessed as transformers' processor does; the language model is any decoder above (its `text_config`).\n"
      "Each is checked against transformers by `tests/oracle/vlm_oracle_test.cpp`.\n\n"
      "| model_type | HF class | features |\n|---|---|---|\n";
  for (const auto& arch : vision_language_architectures())
    out += fmt::format("| `{}` | `{}` | {} |\n", arch.model_type, arch.hf_class, arch.features);
  return out;
}

const Architecture& find_architecture(const std::string& model_type, const std::string& where) {
  std::vector<std::string> names;
  for (const auto& arch : architectures()) {
    if (arch.model_type == model_type) return arch;
    names.push_back(arch.model_type);
  }
  auto hint = nearest_name(model_type, names);
  throw NotSupportedError(fmt::format("[model] {}model_type '{}' is not supported{}; supported: {}",
                                      where.empty() ? "" : where + ": ", model_type,
                                      hint.empty() ? "" : " (did you mean '" + hint + "'?)", join(names, ", ")));
}

namespace {

// RAM + swap in bytes (0 when unknown): parameters beyond it can never be allocated.
double backable_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  double kib = 0, total = 0;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemTotal:" || key == "SwapTotal:") total += kib * 1024;
  return total;
}

// Each size in config.json may be in range while their product is not: the model is laid out on
// the meta device (no memory) and its size checked before a byte is allocated, instead of
// failing inside the allocator.
void check_fits_in_memory(const Architecture& arch, const hf::ModelConfig& config, at::ScalarType dtype) {
  auto layout = arch.build(config, at::TensorOptions().dtype(dtype).device(c10::Device(c10::kMeta)));
  double bytes = 0, count = 0;
  for (const auto& p : layout->named_parameters()) {
    count += static_cast<double>(p.tensor->numel());
    bytes += static_cast<double>(p.tensor->numel()) * static_cast<double>(p.tensor->element_size());
  }
  const double limit = backable_bytes();
  AM_CHECK(limit == 0 || bytes <= limit,
           "[model] {}: {} parameters take {} in {}, more than this machine's memory ({} RAM + swap); check the sizes "
           "in config.json (hidden_size, intermediate_size, num_hidden_layers, vocab_size)", config.label,
           human_count(count), human_bytes(bytes), scalar_type_name(dtype), human_bytes(limit));
}

}  // namespace

hf::ModelConfig language_model_config(const hf::ModelConfig& config, const hf::SafetensorsCheckpoint* checkpoint) {
  const auto& all = architectures();
  auto registered = [&all](const std::string& type) {
    return std::any_of(all.begin(), all.end(), [&type](const Architecture& a) { return a.model_type == type; });
  };
  auto with_names = [checkpoint](hf::ModelConfig c) {
    if (checkpoint) c.checkpoint_names = std::make_shared<const std::vector<std::string>>(checkpoint->names());
    return c;
  };
  if (config.composite || registered(config.model_type)) return with_names(config);
  const auto& json = *config.json;
  auto text = json.find("text_config");
  auto inner = text != json.end() && text->is_object() ? text->value("model_type", std::string()) : "";
  // Text models transformers names apart whose decoder is a registered one (M-RoPE is read from
  // their rope parameters and used when a VLM gives 3-axis positions).
  static const std::map<std::string, std::string> kSameDecoder = {{"qwen2_vl_text", "qwen2"},
                                                                  {"qwen2_5_vl_text", "qwen2"}};
  if (auto same = kSameDecoder.find(inner); same != kSameDecoder.end()) inner = same->second;
  if (!registered(inner)) {  // an error naming the supported types (and the text model's own type)
    if (!inner.empty()) find_architecture(inner, config.label + ": " + config.model_type + "'s text_config");
    find_architecture(config.model_type, config.label);
  }
  auto object = *text;
  object["model_type"] = inner;
  // The wrapper's tie_word_embeddings is the one transformers applies to its lm_head.
  if (json.contains("tie_word_embeddings")) object["tie_word_embeddings"] = json["tie_word_embeddings"];
  // So is its quantization (e.g. FP8 blocks), which covers the language model's weights.
  if (json.contains("quantization_config") && !object.contains("quantization_config"))
    object["quantization_config"] = json["quantization_config"];
  auto out = hf::model_config_from_json(object, config.label + ": text_config");
  if (!out.dtype) out.dtype = config.dtype;
  hf::ModelConfig::Composite composite;
  composite.model_type = config.model_type;
  composite.json = config.json;
  composite.label = config.label;
  for (const auto& arch : vision_language_architectures())
    if (arch.model_type == config.model_type && !arch.text_body.empty()) composite.body = arch.text_body;
  if (checkpoint) {
    auto names = checkpoint->names();
    const bool v4 = std::none_of(names.begin(), names.end(),
                                 [](const std::string& n) { return n.starts_with("model.language_model."); }) &&
                    std::any_of(names.begin(), names.end(),
                                [](const std::string& n) { return n.starts_with("language_model.model."); });
    if (v4) composite.body = "language_model.model", composite.lm_head = "language_model.lm_head";
    // Qwen2-VL's layout (the hub's, and what transformers still saves): model.layers beside visual.
    const bool flat = std::none_of(names.begin(), names.end(),
                                   [](const std::string& n) { return n.starts_with("model.language_model."); }) &&
                      std::any_of(names.begin(), names.end(),
                                  [](const std::string& n) { return n.starts_with("model.layers."); });
    if (flat) composite.body = "model", composite.lm_head = "lm_head";
  }
  out.composite = composite;
  return with_names(out);
}

namespace {

// Dropout probabilities config.json sets above 0 (attention_dropout, hidden_dropout, resid_pdrop,
// ...): HF applies them in training, we do not; said once per model so runs are not silently
// different from HF's.
void report_dropout(const hf::ModelConfig& config) {
  std::vector<std::string> set;
  for (const auto& [key, value] : config.json->items())
    if ((key.ends_with("dropout") || key.ends_with("pdrop")) && value.is_number() && value.get<double>() > 0)
      set.push_back(fmt::format("{}={}", key, value.dump()));
  if (!set.empty())
    log_warn("[model] {}: {} has no effect here: training runs without dropout (as HF's eval mode)", config.label,
             join(set, ", "));
}

}  // namespace

std::unique_ptr<CausalLM> build_model(const hf::ModelConfig& config, at::ScalarType dtype, c10::Device device,
                                      bool vision) {
  checkpoint_quantization(config);  // what is dequantized on load passes; any other method is rejected here
  auto resolved = language_model_config(config);
  const auto& arch = find_architecture(resolved.model_type, resolved.label);
  if (device.is_cpu()) check_fits_in_memory(arch, resolved, dtype);
  if (!device.is_meta()) report_dropout(resolved);
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  auto model = arch.build(resolved, options);
  if (resolved.composite)
    AM_CHECK(model->base_model_prefix() == resolved.composite->body,
             "[model] {}: a {} checkpoint's language model ({}) cannot be read from its composite layout '{}'",
             config.label, config.model_type, resolved.model_type, resolved.composite->body);
  if (vision) return build_vision_language_model(resolved, std::move(model), options);
  return model;
}

int64_t config_vocab_size(const hf::ModelConfig& config) {
  auto fields = language_model_config(config).fields();
  if (!fields.has("vocab_size")) return 0;
  return fields.check_int("vocab_size", fields.get_int("vocab_size"), 1, hf::kMaxVocabSize);
}

std::unique_ptr<CausalLM> build_layout(const std::filesystem::path& folder) {
  auto config = hf::load_model_config(folder);
  const bool has_weights = std::filesystem::exists(folder / "model.safetensors") ||
                           std::filesystem::exists(folder / "model.safetensors.index.json");
  if (has_weights) {
    auto checkpoint = hf::SafetensorsCheckpoint::open(folder);
    config = language_model_config(config, &checkpoint);
  }
  return build_model(config, at::kFloat, c10::Device(c10::kMeta));
}

std::unique_ptr<CausalLM> load_pretrained(const std::string& name_or_path, const LoadOptions& options) {
  auto folder = hf::resolve_model_folder(name_or_path);
  auto checkpoint = hf::SafetensorsCheckpoint::open(folder, /*populate=*/true);
  auto config = language_model_config(hf::load_model_config(folder), &checkpoint);
  auto model = build_model(config, options.dtype, options.device, options.vision);
  load_weights(*model, checkpoint, options.read_only_weights);
  return model;
}

}  // namespace automodel::models
