// The decoder-only transformer most HF causal LMs share (Llama, Mistral, Qwen, Gemma, OLMo,
// Cohere, Phi, MoEs, ...). Architectures differ only in a DecoderSpec read from their config.json.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "automodel/models/common/causal_lm.h"
#include "automodel/models/common/decoder_spec.h"
#include "automodel/models/common/rope.h"

namespace automodel::models {

class DecoderBody;

class DecoderLM : public CausalLM {
 public:
  DecoderLM(hf::ModelConfig config, DecoderSpec spec, const at::TensorOptions& options);
  ~DecoderLM() override;

  ForwardOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) override;
  const at::Tensor& output_embedding() const override;
  int64_t num_layers() const override { return spec_.num_layers; }
  std::vector<std::string> tied_aliases() const override;
  std::vector<std::string> ignored_checkpoint_suffixes() const override { return spec_.ignored_checkpoint_suffixes; }
  std::vector<std::string> skipped_checkpoint_prefixes() const override { return spec_.skipped_checkpoint_prefixes; }
  std::string base_model_prefix() const override { return spec_.names.body; }
  std::string layer_prefix() const override { return spec_.names.body + "." + spec_.names.layers; }
  at::Tensor auxiliary_loss(const ForwardOutput& out, const at::Tensor& real_tokens = {}) const override;
  OutputHead head() const override;
  const DecoderSpec& spec() const { return spec_; }

 private:
  bool is_moe_layer(int64_t i) const;
  DecoderSpec spec_;
  RotaryEmbedding rope_;
  std::optional<RotaryEmbedding> local_rope_;
  Slot<DecoderBody> body_;
  Slot<LinearLayer> lm_head_;
};

}  // namespace automodel::models
