// The pre-norm decoder-only transformer most HF causal LMs share (Llama, Mistral, Qwen2, Gemma,
// Mixtral, ...). Architectures differ only in a DecoderSpec read from their config.json.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "automodel/hf/json_fields.h"
#include "automodel/hf/rope_config.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/moe.h"
#include "automodel/models/common/rope.h"

namespace automodel::models {

struct DecoderSpec {
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0;
  int64_t num_heads = 0, num_kv_heads = 0, head_dim = 0;
  double norm_eps = 1e-6;
  bool norm_unit_offset = false;  // Gemma: x * (1 + w)
  Activation act = Activation::kSilu;
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  bool qk_norm = false;            // per-head RMSNorm on q and k (Qwen3)
  bool scale_embeddings = false;   // Gemma: embeddings * sqrt(hidden_size)
  bool tie_word_embeddings = false;
  std::vector<std::optional<int64_t>> sliding_window;  // per layer; nullopt = full attention
  hf::RopeConfig rope;
  double attention_scale = 0;  // default head_dim^-0.5
  std::string mlp_name = "mlp";
  std::optional<MoeOptions> moe;  // replaces the MLP in every layer
};

// Reads the fields Llama-family configs share (sizes, eps, activation, rope, tying).
DecoderSpec read_decoder_spec(const hf::JsonFields& config);
// `sliding_window` (>= 1) when set and not null.
std::optional<int64_t> read_sliding_window(const hf::JsonFields& config);
// Config features these decoders do not implement: an error naming the first one set.
void reject_unsupported(const hf::JsonFields& config, const std::vector<std::string>& keys);

class DecoderBody;

class DecoderLM : public CausalLM {
 public:
  DecoderLM(hf::ModelConfig config, DecoderSpec spec, const at::TensorOptions& options);
  ~DecoderLM() override;

  ForwardOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) override;
  const at::Tensor& output_embedding() const override;
  int64_t num_layers() const override { return spec_.num_layers; }
  std::vector<std::string> tied_aliases() const override;
  std::vector<std::string> ignored_checkpoint_suffixes() const override { return {".rotary_emb.inv_freq"}; }
  std::string base_model_prefix() const override { return "model"; }
  at::Tensor auxiliary_loss(const ForwardOutput& out, const at::Tensor& real_tokens = {}) const override;
  const DecoderSpec& spec() const { return spec_; }

 private:
  DecoderSpec spec_;
  RotaryEmbedding rope_;
  Slot<DecoderBody> body_;
  Slot<LinearLayer> lm_head_;
};

}  // namespace automodel::models
