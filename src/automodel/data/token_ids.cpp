#include "automodel/data/token_ids.h"

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/data/rows.h"

namespace automodel::data {
namespace {

// "<file> line 12" for a sample; the rows are read again only on this error path.
std::string where_sample(const TokenizedDataset& dataset, const config::DatasetSection& section, size_t sample) {
  if (sample >= dataset.sample_rows.size() || dataset.sample_rows[sample] == UINT32_MAX)
    return fmt::format("sample {}", sample + 1);
  size_t row = dataset.sample_rows[sample];
  try {
    auto rows = read_rows(section.path, section.split, row + 1);
    if (row < rows.size()) return fmt::format("{} {}", section.path, rows[row].position());
  } catch (const std::exception&) {
  }
  return fmt::format("{} row {}", section.path, row + 1);
}

}  // namespace

void check_token_ids(const TokenizedDataset& dataset, const config::DatasetSection& section, int64_t model_vocab,
                     const std::string& model_label, int64_t tokenizer_vocab) {
  if (model_vocab <= 0) return;
  for (size_t i = 0; i < dataset.samples.size(); ++i) {
    const auto& ids = dataset.samples[i].ids;
    auto bad = std::find_if(ids.begin(), ids.end(), [&](int32_t id) { return id < 0 || id >= model_vocab; });
    if (bad == ids.end()) continue;
    if (section.kind == config::Component::kMockDataset)
      AM_FAIL("[data] {}: token id {} is outside the model's vocabulary: {}.vocab_size is {}, expected at most the "
              "model's vocab_size {} ({})",
              section.label, *bad, section.label, section.mock_vocab_size, model_vocab, model_label);
    AM_FAIL("[data] {} ({}): token id {} is outside the model's vocabulary, expected 0 to {} (vocab_size {} in {}); "
            "the tokenizer has {} tokens: use the tokenizer that belongs to this model, or resize its embeddings",
            where_sample(dataset, section, i), section.label, *bad, model_vocab - 1, model_vocab, model_label,
            tokenizer_vocab);
  }
}

}  // namespace automodel::data
