#include "automodel/data/split_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace fs = std::filesystem;

namespace automodel::data {

const std::vector<std::string>& dataset_extensions() {
  static const std::vector<std::string> kExtensions = {".jsonl.gz", ".json.gz", ".csv.gz", ".jsonl",
                                                       ".json",     ".csv",     ".parquet", ".arrow"};
  return kExtensions;
}

std::string dataset_extension(const fs::path& file) {
  auto name = file.filename().string();
  for (const auto& ext : dataset_extensions())
    if (name.size() > ext.size() && ends_with(name, ext)) return ext;
  return "";
}

namespace {

// The name without its dataset extension.
std::string stem_of(const fs::path& file) {
  auto name = file.filename().string();
  return name.substr(0, name.size() - dataset_extension(file).size());
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "train-00000-of-00002", "train_2", "train.part1" (the split name, then a separator), or the
// datasets cache's "gsm8k-train" / "gsm8k-train-00001-of-00003".
bool names_split(const std::string& stem, const std::string& split) {
  if (stem.size() > split.size() && starts_with(stem, split) &&
      std::string_view("-_.").find(stem[split.size()]) != std::string_view::npos)
    return true;
  auto at = stem.rfind("-" + split);
  if (at == std::string::npos) return false;
  auto rest = stem.substr(at + 1 + split.size());
  if (rest.empty()) return true;
  auto parts = automodel::split(rest, '-');  // "-00001-of-00003"
  return parts.size() == 4 && parts[0].empty() && all_digits(parts[1]) && parts[2] == "of" && all_digits(parts[3]);
}

// The dataset files directly in `folder` that `keep` accepts, by name.
template <typename Keep>
std::vector<fs::path> files_in(const fs::path& folder, Keep&& keep) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return files;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.is_regular_file() && !dataset_extension(entry.path()).empty() && keep(entry.path()))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// A save_to_disk folder of one Dataset: state.json lists its .arrow shards in order.
std::vector<fs::path> saved_dataset_files(const fs::path& folder, const std::string& split) {
  auto state_file = folder / "state.json";
  if (!fs::is_regular_file(state_file)) return {};
  auto state = nlohmann::json::parse(read_file(state_file), nullptr, false);
  AM_CHECK(state.is_object() && state.contains("_data_files") && state["_data_files"].is_array(),
           "[data] {}: expected a datasets save_to_disk state with a \"_data_files\" list", state_file.string());
  auto saved_split = state.value("_split", nlohmann::json()).is_string() ? state["_split"].get<std::string>() : "";
  AM_CHECK(saved_split.empty() || saved_split == split,
           "[data] {} holds the '{}' split of a dataset, but the recipe asks for split '{}'", folder.string(),
           saved_split, split);
  std::vector<fs::path> files;
  for (const auto& entry : state["_data_files"]) {
    AM_CHECK(entry.is_object() && entry.contains("filename") && entry["filename"].is_string(),
             "[data] {}: expected {{\"filename\": ...}} entries in \"_data_files\", found {}", state_file.string(),
             entry.dump());
    auto file = folder / entry["filename"].get<std::string>();
    AM_CHECK(fs::is_regular_file(file), "[data] {} lists {}, which does not exist", state_file.string(),
             file.string());
    files.push_back(file);
  }
  return files;
}

}  // namespace

std::vector<fs::path> split_files(const fs::path& folder, const std::string& requested) {
  const std::string split = requested.empty() ? "train" : requested;
  // 1. <split>.<ext>, as before shards existed.
  for (const auto& ext : dataset_extensions())
    if (fs::is_regular_file(folder / (split + ext))) return {folder / (split + ext)};
  // 2. Shards named after the split, in the folder or its data/ (the hub's layout).
  for (const auto& dir : {folder, folder / "data"}) {
    auto files = files_in(dir, [&](const fs::path& f) { return stem_of(f) == split || names_split(stem_of(f), split); });
    if (!files.empty()) return files;
  }
  // 3. A folder named after the split: save_to_disk of a DatasetDict, the hub's parquet conversion.
  if (auto files = saved_dataset_files(folder / split, split); !files.empty()) return files;
  if (auto files = files_in(folder / split, [](const fs::path&) { return true; }); !files.empty()) return files;
  // 4. save_to_disk of a single Dataset: one split, whatever its name.
  if (auto files = saved_dataset_files(folder, split); !files.empty()) return files;
  AM_FAIL("[data] {} is a folder without files for split '{}'; looked for {}/{}{{{}}}, shards named "
          "[data/]{}-*.<ext> (e.g. {}-00000-of-00001.parquet), a {}/ folder and a datasets save_to_disk folder "
          "(state.json); supported: {}",
          folder.string(), split, folder.string(), split, join(dataset_extensions(), ","), split, split, split,
          join(dataset_extensions(), ", "));
}

}  // namespace automodel::data
