#include "automodel/models/vision/vision_language.h"

#include <ATen/TensorOperators.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/layers.h"

namespace automodel::models {

VisionLanguageModel::VisionLanguageModel(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> language_model)
    : CausalLM(lm_config) {
  AM_CHECK(config_.composite && config_.composite->json, "[model] {}: a VLM is built from a composite's text_config",
           config_.label);
  // The vision parts sit beside the language model: "vision_tower" beside "language_model.model"
  // (transformers 4), "model.vision_tower" beside "model.language_model" (5), "visual" beside
  // "model" (Qwen2-VL).
  const auto& body = config_.composite->body;
  parts_prefix_ = body.starts_with("model.") ? "model." : "";
  // The decoder places the features among its token embeddings (place_features).
  AM_CHECK(dynamic_cast<const DecoderLM*>(language_model.get()),
           "[model] {}: a {} language model ({}) cannot take image features here yet", config_.composite->label,
           config_.composite->model_type, config_.model_type);
  lm_ = add_inline_module<CausalLM>(std::move(language_model));
}

std::string VisionLanguageModel::tower_root(const std::string& part) const {
  const auto nested = parts_prefix_ + part + ".vision_model.";
  return config_.checkpoint_has([&](const std::string& n) { return n.starts_with(nested); }) ? "vision_model." : "";
}

const nlohmann::json& VisionLanguageModel::wrapper_json() const { return *config_.composite->json; }
const std::string& VisionLanguageModel::wrapper_label() const { return config_.composite->label; }

std::vector<std::string> VisionLanguageModel::ignored_checkpoint_suffixes() const {
  auto out = lm_->ignored_checkpoint_suffixes();
  out.emplace_back("embeddings.position_ids");  // CLIP/SigLIP's index buffer in older checkpoints
  return out;
}

std::string VisionLanguageModel::foreign_part(const std::string& name) const {
  for (const auto& [part, _] : parts_)
    if (name.starts_with(part + ".")) return {};
  return CausalLM::foreign_part(name);
}

VlmPart VisionLanguageModel::part_of(const std::string& name) const {
  for (const auto& [part, kind] : parts_)
    if (name.starts_with(part + ".")) return kind;
  return VlmPart::kLanguageModel;
}

std::vector<std::string> VisionLanguageModel::part_globs(VlmPart kind) const {
  std::vector<std::string> out;
  for (const auto& [part, k] : parts_)
    if (k == kind) out.push_back(part + "*");
  return out;
}

std::vector<std::string> VisionLanguageModel::embedding_parameters() const {
  std::vector<std::string> out;
  for (const auto& [name, module] : named_modules())
    if (dynamic_cast<const Embedding*>(module)) out.push_back(name + ".weight");
  for (const auto& p : named_parameters())
    if (p.name.ends_with("embeddings.position_embedding.weight")) out.push_back(p.name);
  return out;
}

void VisionLanguageModel::set_layer_runner(LayerRunner runner) {
  lm_->set_layer_runner(runner);
  CausalLM::set_layer_runner(std::move(runner));
}

void VisionLanguageModel::set_activation_checkpointing(bool on) {
  lm_->set_activation_checkpointing(on);
  CausalLM::set_activation_checkpointing(on);
}

ForwardOutput VisionLanguageModel::forward(const ModelInputs& inputs, const ForwardOptions& options) {
  if (!inputs.pixel_values.defined()) {
    ModelInputs text = inputs;
    add_text_inputs(text, options);
    return lm_->forward(text, options);
  }
  NamedTensors debug;
  ModelInputs with_images = inputs;
  with_images.features = image_features(inputs, options.collect_hidden_states ? &debug : nullptr);
  with_images.feature_positions = inputs.input_ids == image_token_id_;
  add_image_inputs(with_images, options);
  auto out = lm_->forward(with_images, options);
  for (auto& d : debug) out.extra_outputs.push_back(std::move(d));
  return out;
}

const std::vector<VisionLanguageArchitecture>& vision_language_architectures() {
  static const std::vector<VisionLanguageArchitecture> kArchitectures = {
      llava_architecture(),  qwen2_vl_architecture(), qwen2_5_vl_architecture(),
      gemma3_architecture(), idefics3_architecture(), smolvlm_architecture()};
  return kArchitectures;
}

std::unique_ptr<CausalLM> build_vision_language_model(const hf::ModelConfig& lm_config,
                                                      std::unique_ptr<CausalLM> language_model,
                                                      const at::TensorOptions& options) {
  const auto type = lm_config.composite ? lm_config.composite->model_type : lm_config.model_type;
  std::vector<std::string> names;
  for (const auto& arch : vision_language_architectures()) {
    if (lm_config.composite && arch.model_type == type) return arch.build(lm_config, std::move(language_model), options);
    names.push_back(arch.model_type);
  }
  throw NotSupportedError(fmt::format(
      "[model] {}: model_type '{}' is not a supported vision-language model (supported: {}); its language model "
      "alone can be fine-tuned on text",
      lm_config.composite ? lm_config.composite->label : lm_config.label, type, join(names, ", ")));
}

}  // namespace automodel::models
