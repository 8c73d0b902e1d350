#include "automodel/hf/model_source.h"

#include <cstdlib>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::hf {
namespace fs = std::filesystem;

std::vector<fs::path> hub_cache_roots() {
  std::vector<fs::path> roots;
  if (const char* v = std::getenv("HF_HUB_CACHE")) roots.emplace_back(v);
  if (const char* v = std::getenv("HUGGINGFACE_HUB_CACHE")) roots.emplace_back(v);
  if (const char* v = std::getenv("HF_HOME")) roots.emplace_back(fs::path(v) / "hub");
  if (const char* v = std::getenv("XDG_CACHE_HOME")) roots.emplace_back(fs::path(v) / "huggingface" / "hub");
  if (const char* v = std::getenv("HOME")) roots.emplace_back(fs::path(v) / ".cache" / "huggingface" / "hub");
  return roots;
}

fs::path resolve_model_folder(const std::string& name_or_path, const std::string& revision) {
  if (fs::is_directory(name_or_path)) return fs::path(name_or_path);
  std::vector<std::string> looked = {name_or_path + " (local folder)"};
  auto parts = split(name_or_path, '/');
  if (parts.size() == 2 && !parts[0].empty() && !parts[1].empty()) {
    for (const auto& root : hub_cache_roots()) {
      fs::path repo = root / ("models--" + parts[0] + "--" + parts[1]);
      looked.push_back(repo.string());
      if (!fs::is_directory(repo)) continue;
      std::string commit = revision;
      if (fs::exists(repo / "refs" / revision)) {
        commit = read_file(repo / "refs" / revision);
        while (!commit.empty() && (commit.back() == '\n' || commit.back() == ' ')) commit.pop_back();
      }
      fs::path snapshot = repo / "snapshots" / commit;
      if (fs::is_directory(snapshot)) return snapshot;
    }
  }
  AM_FAIL("[model] '{}' is neither a local folder nor a hub id in the local HF cache; looked in: {}", name_or_path,
          join(looked, ", "));
}

}  // namespace automodel::hf
