#include "automodel/data/recipe_loader.h"

#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/data/dataset.h"
#include "automodel/data/dataset_cache.h"
#include "automodel/data/hub_dataset.h"
#include "automodel/data/packing.h"
#include "automodel/data/token_ids.h"

namespace automodel::data {
namespace {

// Tokenizes `section` or reads it from the dataset cache (keyed by data, tokenizer, section and
// pack size). A cache that cannot be written only costs the next run the tokenization.
TokenizedDataset tokenized(const config::DatasetSection& section, const LoaderOptions& o) {
  auto dir = dataset_cache_dir();
  if (dir.empty()) return build_dataset(section, *o.tokenizer, o.pack_size);
  auto file = dir / (dataset_cache_key(section, o.tokenizer_fingerprint, o.pack_size) + ".bin");
  if (auto cached = load_cached_dataset(file)) {
    log_info("{}: tokenized samples from the cache ({})", section.label, file.string());
    return std::move(*cached);
  }
  auto dataset = build_dataset(section, *o.tokenizer, o.pack_size);
  try {
    save_cached_dataset(file, dataset);
  } catch (const std::exception& e) {
    log_warn("{}: could not write the dataset cache: {}", section.label, e.what());
  }
  return dataset;
}

void log_dataset(const config::DatasetSection& section, const DatasetStats& st, int64_t pack_size) {
  log_info("{}: {} samples from {} rows, {} tokens ({} in the loss){}", section.label, st.samples, st.rows,
           human_count(static_cast<double>(st.tokens)), human_count(static_cast<double>(st.target_tokens)),
           st.skipped ? fmt::format("; skipped {} invalid (first: {})", st.skipped, st.first_skip_reason) : "");
  if (st.unsupervised_after_truncation)
    log_info("{}: skipped {} row(s) left with no token in the loss after truncation", section.label,
             st.unsupervised_after_truncation);
  if (st.longer_than_pack)
    log_info("{}: dropped {} sample(s) longer than packed_sequence_size {} (as AutoModel's drop_long_samples)",
             section.label, st.longer_than_pack, pack_size);
}

}  // namespace

DataLoader make_recipe_loader(const config::DatasetSection& given, const LoaderOptions& o) {
  // A hub dataset id becomes its folder in the HF cache (downloaded if missing).
  config::DatasetSection section = given;
  if (section.kind != config::Component::kMockDataset)
    section.path = resolve_dataset_path(section.path, section.split);
  auto dataset = o.tokenizer ? tokenized(section, o) : mock_dataset(section);
  check_token_ids(dataset, section, o.vocab_size, o.vocab_source,
                  o.tokenizer ? static_cast<int64_t>(o.tokenizer->tokenizer.vocab_size()) : 0);
  log_dataset(section, dataset.stats, o.pack_size);
  std::vector<TrainingRow> rows;
  if (o.pack_size > 0) {
    rows = pack_samples(dataset.samples, o.pack_size);
    log_info("{}: packed into {} rows of <= {} tokens", section.label, rows.size(), o.pack_size);
  } else {
    for (const auto& s : dataset.samples) rows.push_back(to_row(s));
  }
  int32_t pad = o.tokenizer ? o.tokenizer->pad_id.value_or(o.tokenizer->eos_id.value_or(0)) : 0;
  BatchShape shape;
  if (section.pad_to_max_length) shape.min_length = o.pack_size > 0 ? o.pack_size : section.seq_length;
  shape.multiple = section.pad_to_multiple_of;
  return DataLoader(std::move(rows), o.batch_size, o.shuffle, o.seed, pad, o.drop_last, shape);
}

}  // namespace automodel::data
