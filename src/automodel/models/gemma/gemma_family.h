// What Gemma 2, 3 and 4 share, read once: HF's defaults (head_dim 256, hidden_activation
// gelu_pytorch_tanh, tied head, pad_token_id 0), norms on both sides of attention and MLP, and
// embeddings x sqrt(hidden_size) rounded to the model dtype first.
#pragma once

#include "automodel/models/common/decoder_spec.h"

namespace automodel::models {

DecoderSpec read_gemma_sandwich_spec(const hf::JsonFields& config);

}  // namespace automodel::models
