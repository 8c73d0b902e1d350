// The interface every causal LM architecture implements, and the inputs/outputs of a forward.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "automodel/hf/model_config.h"
#include "automodel/models/common/attention.h"
#include "automodel/models/common/checkpoint.h"
#include "automodel/models/common/module.h"

namespace automodel::models {

struct ModelInputs {
  at::Tensor input_ids;     // (B, T) int64
  at::Tensor position_ids;  // (B, T) int64; undefined = 0..T-1 (after any cached tokens)
  at::Tensor document_ids;  // (B, T) int64; undefined = one document per row (packing otherwise)
  // (3, B, T) int64: M-RoPE positions (Qwen2-VL: temporal, height, width); undefined = position_ids
  // on every axis. Rotary only: masks still follow position_ids.
  at::Tensor rope_position_ids;
  // (B, T) int64: tokens of one group (> 0) also see each other both ways, beyond causality (a
  // sliding window still bounds how far back; Gemma 3's image tokens); undefined = none. Read
  // when nothing is cached yet.
  at::Tensor attention_groups;
  // A VLM's images, as HF's processor gives them (pixel_values, and per family image_grid_thw or
  // pixel_attention_mask); a language model alone takes none.
  at::Tensor pixel_values, image_grid_thw, pixel_attention_mask;
  // Rows that replace token embeddings, in order, where feature_positions (B, T) is true (a VLM's
  // projected image features at its image tokens: HF's masked_scatter into inputs_embeds).
  at::Tensor feature_positions, features;
};

// The token embeddings `embeds` (B, T, H) with inputs.features placed at inputs.feature_positions
// (unchanged when there are none); an error when their counts differ.
at::Tensor place_features(const ModelInputs& inputs, const at::Tensor& embeds);

struct ForwardOptions {
  bool collect_hidden_states = false;  // fill hidden_states and layer_outputs
  KVCache* cache = nullptr;            // read previous keys and append this step's
};

struct ForwardOutput {
  at::Tensor hidden;                        // (B, T, H) after the final norm
  std::vector<at::Tensor> hidden_states;    // HF output_hidden_states: embeddings, layers..., final norm
  std::vector<at::Tensor> layer_outputs;    // raw output of each decoder layer
  std::vector<std::pair<std::string, at::Tensor>> router_logits;  // (module name, (B*T, E))
  // With collect_hidden_states, what else HF's model outputs (a VLM's image_hidden_states,
  // vision_hidden_states.i), under those names.
  std::vector<std::pair<std::string, at::Tensor>> extra_outputs;
};

// Hidden states to logits: logits = scale * (hidden W^T + b), then softcap * tanh(logits / softcap)
// when softcap > 0. Owned by the model and used by both logits() (debug forward, generation)
// and the fused training loss, so a scale or softcap is right in both or wrong in both.
struct OutputHead {
  at::Tensor weight;     // (vocab, hidden): lm_head, or the input embedding when tied
  double scale = 1.0;    // e.g. Cohere's logit_scale, Granite's 1 / logits_scaling
  double softcap = 0.0;  // e.g. Gemma-2's final_logit_softcapping; 0 = none
  at::Tensor bias;       // (vocab) or undefined: Phi's lm_head has one
  // raw: (..., V) hidden W^T + b -> (..., V) logits
  at::Tensor finish(const at::Tensor& raw) const;
};

class CausalLM : public Module {
 public:
  explicit CausalLM(hf::ModelConfig config) : config_(std::move(config)) {}

  virtual ForwardOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) = 0;
  // The (vocab, hidden) matrix that maps hidden states to logits (the embedding when tied).
  virtual const at::Tensor& output_embedding() const = 0;
  virtual int64_t num_layers() const = 0;
  // Checkpoint names that HF may write but which alias another parameter (tied lm_head).
  virtual std::vector<std::string> tied_aliases() const { return {}; }
  // Name suffixes of buffers this architecture's HF checkpoints may carry that are not
  // parameters (rope's inv_freq, GPT-2's causal-mask bias): skipped when loading.
  virtual std::vector<std::string> ignored_checkpoint_suffixes() const { return {}; }
  // Checkpoint tensors under these prefixes belong to parts HF ships but does not build for
  // causal LM training (DeepSeek/GLM multi-token-prediction layers, Qwen3-Next's mtp.*): skipped
  // when loading, with a note.
  virtual std::vector<std::string> skipped_checkpoint_prefixes() const { return {}; }
  // The part of the checkpoint a tensor belongs to when this model does not build it (a prefix
  // above, or a composite model's vision tower and projector: "model.visual"), "" when it is the
  // model's own. Such tensors are skipped on load and carried unchanged into exported folders.
  virtual std::string foreign_part(const std::string& checkpoint_name) const;
  // Name prefix HF strips/adds between base and LM-head models ("model", "transformer").
  virtual std::string base_model_prefix() const = 0;

  // Extra loss terms HF adds to the LM loss (e.g. MoE load balancing when the config sets
  // output_router_logits); undefined when there are none. real_tokens: (B, T) bool, false at
  // padding (HF's attention_mask), or undefined when there is none.
  virtual at::Tensor auxiliary_loss(const ForwardOutput&, const at::Tensor& /*real_tokens*/ = {}) const { return {}; }

  // The output head; architectures with a logit scale or softcap override it.
  virtual OutputHead head() const { return OutputHead{output_embedding()}; }
  // hidden: (..., H) -> logits (..., V), through head()
  at::Tensor logits(const at::Tensor& hidden) const;
  const hf::ModelConfig& config() const { return config_; }
  // Runs decoder layer `index` (its forward is `block`) on its inputs; set by FSDP to gather the
  // layer's parameters around it. Unset: plain call (or recomputation with activation checkpointing).
  using LayerRunner =
      std::function<std::vector<at::Tensor>(int64_t index, Block block, const std::vector<at::Tensor>& inputs)>;
  virtual void set_layer_runner(LayerRunner runner) { layer_runner_ = std::move(runner); }
  // Recompute each decoder layer in backward instead of keeping its activations.
  virtual void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }
  bool activation_checkpointing() const { return activation_checkpointing_; }
  // Parameter names of decoder layer i start with layer_prefix() + "." + i + "." (FSDP's units).
  virtual std::string layer_prefix() const { return base_model_prefix() + ".layers"; }
  int64_t vocab_size() const { return output_embedding().size(0); }
  // Each decoder layer of a training forward runs through this (FSDP, activation
  // checkpointing; models/common/decoder_stack); a forward filling a KV cache calls layers directly.
  std::vector<at::Tensor> run_layer(int64_t index, const Block& block, const std::vector<at::Tensor>& inputs) const;
  // The width of the hidden states the head reads (whatever config.json calls it: hidden_size,
  // n_embd, d_model, ...): what MFU and memory estimates use.
  int64_t hidden_size() const { return output_embedding().size(1); }

 protected:
  hf::ModelConfig config_;
  bool activation_checkpointing_ = false;
  LayerRunner layer_runner_;
};

// Position ids for new tokens: continue after the cache, per row.
at::Tensor default_position_ids(const at::Tensor& input_ids, const KVCache* cache);

}  // namespace automodel::models
