// Token ids against the model that will embed them: an id beyond the model's vocabulary (a
// tokenizer with tokens the checkpoint lacks, a mock vocab_size too large) is named with its
// dataset row before training, not as LibTorch's "index out of range in self" mid-step.
#pragma once

#include <cstdint>
#include <string>

#include "automodel/config/recipe_config.h"
#include "automodel/data/dataset.h"

namespace automodel::data {

// Throws an Error naming the first offending row (file and line), the id, `model_vocab` (read from
// `model_label`) and `tokenizer_vocab` (0: none, the mock dataset). `model_vocab` <= 0 skips.
void check_token_ids(const TokenizedDataset& dataset, const config::DatasetSection& section, int64_t model_vocab,
                     const std::string& model_label, int64_t tokenizer_vocab);

}  // namespace automodel::data
