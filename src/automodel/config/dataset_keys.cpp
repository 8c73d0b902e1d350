// Declarations of the dataset keys (dataset and validation_dataset). Each says whether it shapes
// the tokenized samples, which is what the dataset cache key hashes (data/dataset_cache.cpp).
#include "automodel/common/error.h"
#include "automodel/config/section_keys.h"

namespace automodel::config {
namespace {

using hf::JsonFields;
using K = Key<DatasetSection>;

// HF tokenizers' truncation strategies for one sequence: true / longest_first / only_first cut
// it; false / do_not_truncate / none leave it whole.
void read_truncation(const JsonFields& f, DatasetSection& d) {
  auto on = bool_or_name(f, "truncation", [&](const std::string& mode) {
    AM_CHECK(mode != "only_second", "[config] {}: 'only_second' truncates the second of a pair of sequences; dataset "
             "rows are one sequence (use true, longest_first or only_first)", f.where("truncation"));
    AM_CHECK(mode == "longest_first" || mode == "only_first" || mode == "do_not_truncate",
             "[config] {}: expected true, false, longest_first, only_first or do_not_truncate, found '{}'",
             f.where("truncation"), mode);
    return mode != "do_not_truncate";
  });
  if (on) d.truncation = *on;
}

// HF's padding strategies: only max_length changes anything here (every batch padded to the
// length); longest / true / do_not_pad / false all pad to the batch's longest row, as AutoModel's
// collater does.
void read_padding(const JsonFields& f, DatasetSection& d) {
  if (!f.has("padding") || f.raw("padding").is_boolean()) return;
  auto mode = f.get_string("padding");
  AM_CHECK(mode == "max_length" || mode == "longest" || mode == "do_not_pad",
           "[config] {}: expected true, false, longest, max_length or do_not_pad, found '{}'", f.where("padding"),
           mode);
  AM_CHECK(mode != "max_length" || d.seq_length > 0, "[config] {}: padding: max_length needs seq_length (the length "
           "to pad to)", f.where("padding"));
  d.pad_to_max_length = mode == "max_length";
}

void read_column_mapping(const JsonFields& f, DatasetSection& d) {
  if (!f.has("column_mapping")) return;
  const auto& m = f.raw("column_mapping");
  AM_CHECK(m.is_object(), "[config] {}: expected a mapping like {{question: prompt}}", f.where("column_mapping"));
  for (const auto& [role, column] : m.items()) {
    AM_CHECK(column.is_string(), "[config] {}: column name for '{}' must be a string", f.where("column_mapping"), role);
    d.column_mapping[role] = column.get<std::string>();
  }
}

// A folder, or AutoModel's tokenizer section {pretrained_model_name_or_path: ...}.
void read_tokenizer(const JsonFields& f, DatasetSection& d) {
  if (!f.has("tokenizer")) return;
  const auto& t = f.raw("tokenizer");
  d.tokenizer = t.is_string() ? t.get<std::string>() : f.child("tokenizer").get_string("pretrained_model_name_or_path");
}

bool mock(const DatasetSection& d) { return d.kind == Component::kMockDataset; }

// The path keys are spellings of one value (the last one set wins); the data's bytes are hashed,
// not its name.
K path_key(const std::string& name, const std::string& doc) {
  return K::field(name, &DatasetSection::path, doc).cache(CacheKey::kContent);
}

Section<DatasetSection> make_section() {
  using D = DatasetSection;
  Section<DatasetSection> s{
      "dataset",
      "The training rows: a local file or folder, or a hub dataset, in one of AutoModel's dataset formats "
      "([Dataset formats](recipes.md#dataset-formats-_target_)).",
      {K::field("_target_", &D::kind, "the dataset format: ChatDataset, ColumnMappedTextInstructionDataset, "
                "make_squad_dataset, HellaSwag, TextDataset or MockIterableDataset",
                [](const JsonFields& f, D& d) {
                  if (f.has("_target_")) d.kind = resolve_target(d.label, f.get_string("_target_"), f.where("_target_"));
                })
           .validated()
           .type("string")
           .def("ChatDataset")
           .cache(CacheKey::kValue),
       path_key("path_or_dataset_id", "a .jsonl / .json / .csv / .parquet / .arrow file (optionally .gz), a dataset "
                "folder or a hub dataset id"),
       path_key("path_or_dataset", "another spelling of path_or_dataset_id"),
       path_key("dataset_name", "another spelling of path_or_dataset_id"),
       path_key("data_files", "another spelling of path_or_dataset_id"),
       K::field("split", &D::split, "the split looked up in a folder or hub dataset")
           .def("train")
           .cache(CacheKey::kValue),
       K::field("column_mapping", &D::column_mapping, "our role (context, question, answer) -> the file's column",
                read_column_mapping)
           .cache(CacheKey::kValue),
       K::field("seq_length", &D::seq_length, "the longest sample in tokens; 0: no limit besides packing")
           .then([](const JsonFields& f, D& d) {
             AM_CHECK(d.seq_length >= 0, "[config] {} must be >= 0", f.where("seq_length"));
           })
           .cache(CacheKey::kValue),
       K::field("answer_only_loss_mask", &D::answer_only_loss_mask, "loss on the answer (assistant) tokens only")
           .cache(CacheKey::kValue),
       K::field("padding", &D::pad_to_max_length, "max_length: every batch padded to seq_length (the pack size when "
                "packing); longest / do_not_pad / true / false: to the batch's longest row", read_padding)
           .type("bool or string")
           .def("do_not_pad")
           .cache(CacheKey::kNone),
       K::field("truncation", &D::truncation, "true / longest_first / only_first: rows cut to seq_length (else the "
                "tokenizer's model_max_length) on its truncation_side, as HF tokenizers; a row left with no token in "
                "the loss is skipped and counted", read_truncation)
           .type("bool or string")
           .cache(CacheKey::kValue),
       K::field("chat_template", &D::chat_template, "template text or a .jinja path; overrides the tokenizer's")
           .cache(CacheKey::kValue),
       K::field("use_hf_chat_template", &D::use_hf_chat_template,
                "column-mapped rows rendered through the tokenizer's chat template")
           .cache(CacheKey::kValue),
       K::field("limit_dataset_samples", &D::limit_samples, "read at most this many rows; -1: all")
           .cache(CacheKey::kValue),
       K::field("num_samples_limit", &D::limit_samples, "another spelling of limit_dataset_samples (which wins)",
                [](const JsonFields& f, D& d) {
                  if (!f.has("num_samples_limit")) return;
                  auto limit = f.get_int("num_samples_limit");
                  if (!f.has("limit_dataset_samples")) d.limit_samples = limit;
                })
           .cache(CacheKey::kValue),
       K::field("skip_invalid_samples", &D::skip_invalid_samples,
                "skip and count unusable rows instead of stopping at the first")
           .cache(CacheKey::kValue),
       K::field("tokenizer", &D::tokenizer, "a tokenizer folder or {pretrained_model_name_or_path: ...}; default: "
                "the model's", read_tokenizer)
           .type("string or mapping")
           .cache(CacheKey::kContent),
       K::field("text_column", &D::text_column, "TextDataset: the column holding the text").cache(CacheKey::kValue),
       K::field("vocab_size", &D::mock_vocab_size, "MockIterableDataset: token ids are drawn below it")
           .only_when(mock)
           .cache(CacheKey::kValue),
       K::field("seq_len", &D::mock_seq_len, "MockIterableDataset: tokens per row").only_when(mock).cache(CacheKey::kValue),
       K::field("num_samples", &D::mock_num_samples, "MockIterableDataset: rows").only_when(mock).cache(CacheKey::kValue),
       K::field("seed", &D::seed, "MockIterableDataset: the seed of its tokens").only_when(mock).cache(CacheKey::kValue),
       K::field("pad_seq_len_divisible", &D::pad_to_multiple_of, "batch lengths rounded up to a multiple of it")
           .then([](const JsonFields& f, D& d) {
             AM_CHECK(d.pad_to_multiple_of >= 1, "[config] {} must be >= 1", f.where("pad_seq_len_divisible"));
           })
           .cache(CacheKey::kNone),
       K::no_effect("batch_size", "the mock dataset yields rows; batches follow step_scheduler.local_batch_size")
           .cache(CacheKey::kNone),
       K::no_effect("start_of_turn_token", "assistant turns are located through the chat template")
           .cache(CacheKey::kNone)}};
  s.finish = [](const JsonFields& f, D& d) {
    AM_CHECK(mock(d) || !d.path.empty(), "[config] {}: set path_or_dataset_id (a local .jsonl/.json/.csv/.parquet "
             "file or folder, or a hub dataset id)", f.where("path_or_dataset_id"));
  };
  return s;
}

}  // namespace

const Section<DatasetSection>& dataset_section() {
  static const Section<DatasetSection> section = make_section();
  return section;
}

DatasetSection parse_dataset(const JsonFields& f, const std::string& section) {
  DatasetSection d;
  d.label = section;
  dataset_section().read(f, d);
  return d;
}

}  // namespace automodel::config
