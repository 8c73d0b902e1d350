// Which files of a local dataset folder hold a split, found as HF datasets names them: plain
// `<split>.jsonl`, hub shards `[data/]<split>-00000-of-00002.parquet`, a `<split>/` folder
// (save_to_disk of a DatasetDict, hub parquet conversions), the datasets cache's
// `<builder>-<split>[-NNNNN-of-NNNNN].arrow`, and a save_to_disk folder of one Dataset.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace automodel::data {

// Extensions read_rows reads, longest first (".jsonl.gz" before ".gz" files' ".jsonl").
const std::vector<std::string>& dataset_extensions();
// The dataset extension `file` ends with, or "" (".jsonl.gz", ".parquet", ...).
std::string dataset_extension(const std::filesystem::path& file);

// The files holding `split` ("train" when empty) in `folder`, in reading order; throws
// automodel::Error listing what was looked for when there are none.
std::vector<std::filesystem::path> split_files(const std::filesystem::path& folder, const std::string& split);

}  // namespace automodel::data
