// A dataset section turned into tokenized samples: rows read from local files, formatted and
// tokenized on all cores, invalid rows skipped and counted (skip_invalid_samples) or reported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "automodel/config/recipe_config.h"
#include "automodel/data/sample.h"
#include "automodel/tokenizer/tokenizer_config.h"

namespace automodel::data {

struct DatasetStats {
  size_t rows = 0, samples = 0, skipped = 0;
  // Dropped with a note, never an error: rows that truncation left without a token in the loss,
  // and samples longer than the packing size (as AutoModel's drop_long_samples).
  size_t unsupervised_after_truncation = 0, longer_than_pack = 0;
  int64_t tokens = 0, target_tokens = 0;
  std::string first_skip_reason;  // "line 12: missing field 'answer'"
};

struct TokenizedDataset {
  std::vector<Sample> samples;
  DatasetStats stats;
  // The row each sample came from (index into read_rows' result), for messages; empty for the
  // mock dataset.
  std::vector<uint32_t> sample_rows;
};

// AutoModel's MockIterableDataset: random token rows, every token in the loss (no tokenizer).
TokenizedDataset mock_dataset(const config::DatasetSection& section);

// `max_tokens` (> 0): samples longer than this are invalid (the packing size).
TokenizedDataset build_dataset(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tokenizer,
                               int64_t max_tokens = 0);

}  // namespace automodel::data
