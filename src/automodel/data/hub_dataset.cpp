#include "automodel/data/hub_dataset.h"

#include <filesystem>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/data/split_files.h"
#include "automodel/hf/hub_download.h"
#include "automodel/hf/hub_repo.h"

namespace automodel::data {
namespace fs = std::filesystem;
namespace {

bool has_split(const fs::path& folder, const std::string& split) {
  try {
    return !split_files(folder, split).empty();
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::string resolve_dataset_path(const std::string& path_or_id, const std::string& split, const std::string& revision) {
  std::error_code ec;
  if (fs::exists(path_or_id, ec)) return path_or_id;
  // "data/train.jsonl" is a missing local file, not a repo named train.jsonl.
  if (!path_or_id.starts_with("hf://") && !dataset_extension(path_or_id).empty()) return path_or_id;
  auto repo = hf::parse_repo_ref(path_or_id, hf::RepoType::kDataset, revision);
  if (!repo) return path_or_id;  // read_rows names it as a missing local path
  AM_CHECK(repo->type == hf::RepoType::kDataset, "[data] '{}' names a model repo; expected a dataset (hf://datasets/...)",
           path_or_id);
  auto folder = hf::hub_snapshot(*repo, [](const std::string& file) { return !dataset_extension(file).empty(); });
  if (!fs::is_directory(folder) || has_split(folder, split)) return folder.string();
  // The hub's per-config layout (<config>/<split>-00000-of-00001.parquet): one config is
  // unambiguous; with several, the recipe names one as hf://datasets/org/name/<config>.
  std::vector<fs::path> configs;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_directory() && has_split(entry.path(), split)) configs.push_back(entry.path());
  if (configs.size() == 1) return configs[0].string();
  std::vector<std::string> names;
  for (const auto& c : configs) names.push_back(c.filename().string());
  AM_CHECK(configs.empty(), "[data] hub dataset {} has split '{}' in several configs ({}); name one as "
           "hf://datasets/{}/<config>", repo->id, split.empty() ? "train" : split, join(names, ", "),
           repo->id);
  return folder.string();  // split_files says what is missing
}

}  // namespace automodel::data
