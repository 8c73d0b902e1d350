// What the Granite model_types share (granite, granitemoehybrid).
#pragma once

#include "automodel/models/common/decoder_spec.h"

namespace automodel::models {

// Granite's scalar multipliers: embedding_multiplier, residual_multiplier on each branch,
// attention_multiplier (replacing head_dim^-0.5) and logits_scaling (logits divided by it).
void read_granite_multipliers(const hf::JsonFields& config, DecoderSpec& spec);

}  // namespace automodel::models
