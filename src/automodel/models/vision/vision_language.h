// Vision-language models (HF's *ForConditionalGeneration): a vision tower and a projector turn
// pixel_values into rows of the language model's width, which replace the token embeddings at
// the image tokens; the language model is any registered decoder, under the checkpoint's names.
// Each family (LLaVA, ...) is a subclass in its own file that computes those rows.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "automodel/models/common/causal_lm.h"

namespace automodel::models {

// What a parameter of a VLM belongs to (freeze_config, LoRA's scope).
enum class VlmPart { kVisionTower, kProjector, kLanguageModel };

class VisionLanguageModel : public CausalLM {
 public:
  // `language_model` was built from `lm_config` (a composite's text_config, with its names).
  VisionLanguageModel(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> language_model);

  ForwardOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) override;
  const at::Tensor& output_embedding() const override { return lm_->output_embedding(); }
  int64_t num_layers() const override { return lm_->num_layers(); }
  std::vector<std::string> tied_aliases() const override { return lm_->tied_aliases(); }
  std::vector<std::string> ignored_checkpoint_suffixes() const override;
  std::vector<std::string> skipped_checkpoint_prefixes() const override { return lm_->skipped_checkpoint_prefixes(); }
  std::string foreign_part(const std::string& checkpoint_name) const override;
  std::string base_model_prefix() const override { return lm_->base_model_prefix(); }
  std::string layer_prefix() const override { return lm_->layer_prefix(); }
  at::Tensor auxiliary_loss(const ForwardOutput& out, const at::Tensor& real_tokens = {}) const override {
    return lm_->auxiliary_loss(out, real_tokens);
  }
  OutputHead head() const override { return lm_->head(); }
  void set_layer_runner(LayerRunner runner) override;
  void set_activation_checkpointing(bool on) override;

  // The image token's id in input_ids.
  int64_t image_token_id() const { return image_token_id_; }
  // Where the vision parts' names start: "" (transformers 4's layout) or "model." (5's).
  const std::string& parts_prefix() const { return parts_prefix_; }
  VlmPart part_of(const std::string& parameter_name) const;
  // Module name globs of the vision parts of `kind` (LoRA stays off the towers).
  std::vector<std::string> part_globs(VlmPart kind) const;
  // Every embedding table's parameter: the token embeddings and the tower's position embeddings
  // (AutoModel's freeze_embeddings freezes every nn.Embedding).
  std::vector<std::string> embedding_parameters() const;

 protected:
  // (image tokens, hidden) rows for inputs' images, in the order their tokens appear. With
  // `debug`, also HF's intermediate outputs under HF's names.
  virtual at::Tensor image_features(const ModelInputs& inputs, NamedTensors* debug) const = 0;
  // What else the family's language model reads with images (Qwen2-VL's M-RoPE positions), and
  // with text alone (generation continuing such a prompt in `options.cache`).
  virtual void add_image_inputs(ModelInputs& /*inputs*/, const ForwardOptions& /*options*/) {}
  virtual void add_text_inputs(ModelInputs& /*inputs*/, const ForwardOptions& /*options*/) {}
  // Registers a vision part (tower, projector) under parts_prefix() + name.
  template <typename T>
  Slot<T> add_part(const std::string& name, VlmPart kind, std::unique_ptr<T> part) {
    parts_.emplace_back(parts_prefix_ + name, kind);
    return add_module(parts_prefix_ + name, std::move(part));
  }
  // Where a CLIP/SigLIP tower registered as part `part` names its parameters: under
  // "vision_model." when the checkpoint does (transformers 4), else directly (5, and a model built
  // without a checkpoint).
  std::string tower_root(const std::string& part) const;
  // The wrapper's config.json (vision_config, projector, token ids), and its file for messages.
  const nlohmann::json& wrapper_json() const;
  const std::string& wrapper_label() const;
  int64_t image_token_id_ = -1;

 private:
  Slot<CausalLM> lm_;
  std::string parts_prefix_;
  std::vector<std::pair<std::string, VlmPart>> parts_;
};

struct VisionLanguageArchitecture {
  std::string model_type;  // the wrapper's ("llava")
  std::string hf_class;    // "LlavaForConditionalGeneration"
  std::string features;
  std::string text_body;  // where its language model's decoder lives when not "model.language_model"
  std::function<std::unique_ptr<CausalLM>(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> language_model,
                                          const at::TensorOptions&)>
      build;
};

const std::vector<VisionLanguageArchitecture>& vision_language_architectures();
// Wraps `language_model` (built from the composite text config `lm_config`) in its wrapper's VLM;
// an error naming the supported wrappers when there is none.
std::unique_ptr<CausalLM> build_vision_language_model(const hf::ModelConfig& lm_config,
                                                      std::unique_ptr<CausalLM> language_model,
                                                      const at::TensorOptions& options);

// Defined in each VLM's file.
VisionLanguageArchitecture llava_architecture();
VisionLanguageArchitecture qwen2_vl_architecture();
VisionLanguageArchitecture qwen2_5_vl_architecture();
VisionLanguageArchitecture gemma3_architecture();
VisionLanguageArchitecture idefics3_architecture();
VisionLanguageArchitecture smolvlm_architecture();

}  // namespace automodel::models
