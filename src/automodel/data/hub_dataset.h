// Dataset paths that name a hub dataset (org/name, hf://datasets/org/name[@rev][/folder]): the
// repo's data files (parquet, jsonl, json, csv, arrow) are fetched into the HF cache and the path
// becomes its snapshot folder, where split_files finds the splits.
#pragma once

#include <string>

namespace automodel::data {

// A local file or folder as is; a hub dataset id as its snapshot folder (or the one config
// folder holding `split`, when the repo keeps its files in a single config's subfolder).
std::string resolve_dataset_path(const std::string& path_or_id, const std::string& split,
                                 const std::string& revision = "main");

}  // namespace automodel::data
