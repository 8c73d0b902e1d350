#include "automodel/hf/model_source.h"

#include "automodel/common/error.h"
#include "automodel/hf/hub_download.h"
#include "automodel/hf/hub_repo.h"

namespace automodel::hf {
namespace fs = std::filesystem;

fs::path resolve_model_folder(const std::string& name_or_path, const std::string& revision) {
  if (fs::is_directory(name_or_path)) return fs::path(name_or_path);
  auto repo = parse_repo_ref(name_or_path, RepoType::kModel, revision);
  AM_CHECK(repo, "[model] '{}' is neither a local folder nor a hub model id (org/name or hf://org/name[@revision])",
           name_or_path);
  AM_CHECK(repo->type == RepoType::kModel, "[model] '{}' names a dataset repo; expected a model", name_or_path);
  return hub_snapshot(*repo, is_model_file);
}

}  // namespace automodel::hf
