#include "automodel/config/tracker_sections.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "automodel/common/error.h"
#include "automodel/hf/json_fields.h"

namespace automodel::config {
namespace {

// The section's fields; an empty (null) section reads as {} (all defaults).
hf::JsonFields section(const hf::JsonFields& root, const std::string& name) {
  if (root.has(name)) return root.child(name);
  return hf::JsonFields(std::make_shared<const nlohmann::json>(nlohmann::json::object()), root.label(), name + ".");
}

}  // namespace

TensorBoardSection parse_tensorboard(const hf::JsonFields& root, const std::string& checkpoint_dir) {
  auto f = section(root, "tensorboard");
  TensorBoardSection s;
  s.log_dir = f.get_string("log_dir", (std::filesystem::path(checkpoint_dir) / "tensorboard").string());
  s.name = f.get_string("name", "");
  AM_CHECK(!s.log_dir.empty(), "[config] {}: expected a folder, found an empty string", f.where("log_dir"));
  AM_CHECK(std::filesystem::path(s.name).is_relative(), "[config] {}: expected a sub-folder name, found the absolute "
           "path '{}' (set log_dir instead)", f.where("name"), s.name);
  return s;
}

MlflowSection parse_mlflow(const hf::JsonFields& root, const nlohmann::json& body) {
  auto f = section(root, "mlflow");
  MlflowSection s;
  s.experiment_name = f.get_string("experiment_name", s.experiment_name);
  s.run_name = f.get_string("run_name", "");
  const char* env_uri = std::getenv("MLFLOW_TRACKING_URI");
  s.tracking_uri = f.get_string("tracking_uri", env_uri ? env_uri : "");
  const auto& uri = s.tracking_uri;
  AM_CHECK(uri.empty() || uri.starts_with("file:") || uri.starts_with("http://") || uri.starts_with("https://") ||
               (uri.find("://") == std::string::npos && !uri.starts_with("databricks")),
           "[config] {}: expected an http(s):// server, a file: URI or a folder, found '{}' (other stores such as "
           "sqlite: or databricks are not supported here; run `mlflow server --backend-store-uri ...` in front of "
           "them)", f.has("tracking_uri") ? f.where("tracking_uri") : "MLFLOW_TRACKING_URI", uri);
  s.artifact_location = f.get_string("artifact_location", "");
  if (f.has("tags")) {
    const auto& tags = f.raw("tags");
    AM_CHECK(tags.is_object(), "[config] {}: expected a mapping of tag names to values, found {}", f.where("tags"),
             tags.type_name());
    for (const auto& [k, v] : tags.items()) s.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  s.resume = f.get_bool("resume", true);
  if (f.has("description")) s.description = f.get_string("description");
  if (f.has("flatten_depth")) {
    s.flatten_depth = f.get_int("flatten_depth");
    AM_CHECK(*s.flatten_depth >= 0, "[config] {} must be >= 0 (or null: fully flattened)", f.where("flatten_depth"));
  } else if (body.is_object() && body.contains("flatten_depth")) {
    s.flatten_depth.reset();  // null: fully flattened, as AutoModel's max_depth=None
  }
  return s;
}

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// AutoModel's default run name: "_".join(model_name.split("/")[-2:]).
std::string default_run_name(const std::string& model_name) {
  auto last = model_name.rfind('/');
  if (last == std::string::npos) return model_name;
  auto before = last == 0 ? std::string::npos : model_name.rfind('/', last - 1);
  auto first = before == std::string::npos ? 0 : before + 1;
  return model_name.substr(first, last - first) + "_" + model_name.substr(last + 1);
}

}  // namespace

std::optional<WandbSection> parse_wandb(const hf::JsonFields& root, const std::string& model_name) {
  auto f = section(root, "wandb");
  if (!f.get_bool("enable", true)) return std::nullopt;  // AutoModel drops the section
  WandbSection s;
  // wandb.init() spellings: dryrun = offline, run = online; wandb's environment comes next.
  const bool keyed = std::getenv("WANDB_API_KEY") && *std::getenv("WANDB_API_KEY");
  s.mode = f.get_string("mode", env_or("WANDB_MODE", keyed ? "online" : "offline"));
  if (s.mode == "dryrun") s.mode = "offline";
  if (s.mode == "run") s.mode = "online";
  if (s.mode == "disabled") return std::nullopt;
  AM_CHECK(s.mode == "offline" || s.mode == "online" || s.mode == "shared",
           "[config] {}: expected offline, online or disabled, found '{}'",
           f.has("mode") ? f.where("mode") : "WANDB_MODE", s.mode);
  if (s.mode == "shared") s.mode = "online";
  s.project = f.get_string("project", s.project);
  s.entity = f.get_string("entity", env_or("WANDB_ENTITY", ""));
  s.name = f.get_string("name", "");
  if (s.name.empty()) s.name = default_run_name(model_name);
  s.group = f.get_string("group", "");
  s.notes = f.get_string("notes", "");
  s.job_type = f.get_string("job_type", "");
  if (f.has("tags")) {
    const auto& tags = f.raw("tags");
    AM_CHECK(tags.is_array() || tags.is_string(), "[config] {}: expected a list of strings, found {}",
             f.where("tags"), tags.type_name());
    if (tags.is_string()) s.tags = {tags.get<std::string>()};
    else s.tags = f.get_string_list("tags");
  }
  s.id = f.get_string("id", env_or("WANDB_RUN_ID", ""));
  AM_CHECK(s.id.find_first_of("/\\ :") == std::string::npos, "[config] {}: a run id cannot hold '/', '\\', ':' or "
           "spaces, found '{}'", f.has("id") ? f.where("id") : "WANDB_RUN_ID", s.id);
  s.dir = f.get_string("dir", f.get_string("save_dir", env_or("WANDB_DIR", ".")));
  AM_CHECK(!s.dir.empty(), "[config] {}: expected a folder, found an empty string", f.where("dir"));
  return s;
}

}  // namespace automodel::config
