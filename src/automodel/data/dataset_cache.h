// Tokenized datasets cached on disk, keyed by everything that shapes the samples: the data
// file's bytes, the tokenizer files, every dataset key declared to shape samples
// (config/dataset_keys.cpp) and the pack size. A second run with the same key skips tokenization.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "automodel/config/recipe_config.h"
#include "automodel/data/dataset.h"

namespace automodel::data {

// $AUTOMODEL_CACHE_DIR, else $XDG_CACHE_HOME/automodel, else ~/.cache/automodel (+ /datasets).
// AUTOMODEL_DATASET_CACHE=0 turns the cache off (empty path).
std::filesystem::path dataset_cache_dir();

// 64-bit FNV-1a of the inputs, as 16 hex digits.
std::string dataset_cache_key(const config::DatasetSection& section, const std::string& tokenizer_fingerprint,
                              int64_t max_tokens);
// Hash of the files that define a tokenizer folder (tokenizer.json, tokenizer_config.json, ...).
std::string tokenizer_fingerprint(const std::filesystem::path& folder);

std::optional<TokenizedDataset> load_cached_dataset(const std::filesystem::path& file);
// Atomic: a crash leaves no partial cache file.
void save_cached_dataset(const std::filesystem::path& file, const TokenizedDataset& dataset);

}  // namespace automodel::data
