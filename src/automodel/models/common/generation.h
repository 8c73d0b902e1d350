// Token generation with a KV cache: greedy or temperature / top-k / top-p sampling, stopping at
// any EOS id. Used by `automodel generate` and the pretrained-model tests.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "automodel/models/common/causal_lm.h"

namespace automodel::models {

struct SamplingOptions {
  int64_t max_new_tokens = 128;
  double temperature = 0.0;  // 0 = greedy
  double top_p = 1.0;
  int64_t top_k = 0;  // 0 = off
  uint64_t seed = 0;
  std::vector<int64_t> eos_token_ids;
};

// An Error naming the option (HF generate's names), the accepted range and the value when any
// is out of range; generate() checks too, callers check before loading a model.
void check_sampling_options(const SamplingOptions& options);

// Returns prompt + generated ids; `on_token` sees each new id as it is produced. `images`: a VLM
// prompt's pixel_values (and image_grid_thw), read with the prompt (the first forward) only.
std::vector<int64_t> generate(CausalLM& model, const std::vector<int64_t>& prompt, const SamplingOptions& options,
                              const std::function<void(int64_t)>& on_token = {}, const ModelInputs& images = {});

}  // namespace automodel::models
