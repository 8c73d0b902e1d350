#include "automodel/models/gemma/gemma_family.h"

#include <cmath>

namespace automodel::models {

DecoderSpec read_gemma_sandwich_spec(const hf::JsonFields& c) {
  ConfigDefaults defaults;
  defaults.head_dim = 256;
  defaults.act_key = "hidden_activation";
  defaults.act = "gelu_pytorch_tanh";
  defaults.tie_word_embeddings = true;
  defaults.pad_token_id = 0;
  auto spec = read_decoder_spec(c, defaults);
  spec.embedding_scale = std::sqrt(static_cast<double>(spec.hidden_size));
  spec.embedding_scale_in_dtype = true;
  spec.names.attn_out_norm = "post_attention_layernorm";
  spec.names.mlp_in_norm = "pre_feedforward_layernorm";
  spec.names.mlp_out_norm = "post_feedforward_layernorm";
  return spec;
}

}  // namespace automodel::models
