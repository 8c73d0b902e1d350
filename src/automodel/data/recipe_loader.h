// A recipe's dataset section turned into batches: the rows resolved (hub ids downloaded),
// tokenized or read from the dataset cache, checked against the model's vocabulary, packed or
// kept one sample per row, and batched as the section says.
#pragma once

#include <cstdint>
#include <string>

#include "automodel/config/recipe_config.h"
#include "automodel/data/loader.h"
#include "automodel/tokenizer/tokenizer_config.h"

namespace automodel::data {

struct LoaderOptions {
  const tokenizer::LoadedTokenizer* tokenizer = nullptr;  // null: the mock dataset needs none
  std::string tokenizer_fingerprint;                      // for the dataset cache key
  int64_t pack_size = 0;                                  // packed_sequence_size; 0 = no packing
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;
  int64_t vocab_size = 0;    // every id must be below it
  std::string vocab_source;  // the config.json it comes from, for messages
};

DataLoader make_recipe_loader(const config::DatasetSection& section, const LoaderOptions& options);

}  // namespace automodel::data
