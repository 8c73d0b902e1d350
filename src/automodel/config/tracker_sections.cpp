#include "automodel/config/tracker_sections.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "automodel/common/error.h"
#include "automodel/config/section_keys.h"
#include "automodel/hf/json_fields.h"

namespace automodel::config {
namespace {

using hf::JsonFields;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Section<TensorBoardSection> make_tensorboard() {
  using K = Key<TensorBoardSection>;
  return {"tensorboard",
          "TensorBoard event files (Lightning's TensorBoardLogger keys; AutoModel 0.7 has no such section): present "
          "(even empty) = on; rank 0 writes log_dir/name/events.out.tfevents.*.",
          {K::field("log_dir", &TensorBoardSection::log_dir, "the events' folder",
                    [](const JsonFields& f, TensorBoardSection& s) {
                      if (!f.has("log_dir")) return;
                      s.log_dir = f.get_string("log_dir");
                      AM_CHECK(!s.log_dir.empty(), "[config] {}: expected a folder, found an empty string",
                               f.where("log_dir"));
                    })
               .def("<checkpoint_dir>/tensorboard"),
           K::field("name", &TensorBoardSection::name, "a sub-folder of log_dir, one per run to compare several")
               .then([](const JsonFields& f, TensorBoardSection& s) {
                 AM_CHECK(std::filesystem::path(s.name).is_relative(), "[config] {}: expected a sub-folder name, "
                          "found the absolute path '{}' (set log_dir instead)", f.where("name"), s.name);
               })}};
}

void read_tracking_uri(const JsonFields& f, MlflowSection& s) {
  s.tracking_uri = f.get_string("tracking_uri", env_or("MLFLOW_TRACKING_URI", ""));
  const auto& uri = s.tracking_uri;
  AM_CHECK(uri.empty() || uri.starts_with("file:") || uri.starts_with("http://") || uri.starts_with("https://") ||
               (uri.find("://") == std::string::npos && !uri.starts_with("databricks")),
           "[config] {}: expected an http(s):// server, a file: URI or a folder, found '{}' (other stores such as "
           "sqlite: or databricks are not supported here; run `mlflow server --backend-store-uri ...` in front of "
           "them)", f.has("tracking_uri") ? f.where("tracking_uri") : "MLFLOW_TRACKING_URI", uri);
}

Section<MlflowSection> make_mlflow() {
  using K = Key<MlflowSection>;
  using M = MlflowSection;
  return {
      "mlflow",
      "An MLflow run (AutoModel's MLflowConfig keys): rank 0 logs the resolved recipe as params, config.yaml as an "
      "artifact and the training scalars per step, to a tracking server or a local file store.",
      {K::field("experiment_name", &M::experiment_name, "created when missing"),
       K::field("run_name", &M::run_name, "the run's name"),
       K::field("tracking_uri", &M::tracking_uri, "http(s):// (a tracking server), file:PATH or a folder (a file "
                "store); sqlite: and databricks are errors", read_tracking_uri)
           .def("`$MLFLOW_TRACKING_URI`, else `./mlruns`"),
       K::field("artifact_location", &M::artifact_location, "for a new experiment; default: the store's"),
       K::field("tags", &M::tags, "run tags; values written as text",
                [](const JsonFields& f, M& s) {
                  if (!f.has("tags")) return;
                  const auto& tags = f.raw("tags");
                  AM_CHECK(tags.is_object(), "[config] {}: expected a mapping of tag names to values, found {}",
                           f.where("tags"), tags.type_name());
                  for (const auto& [k, v] : tags.items()) s.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
                }),
       K::field("resume", &M::resume, "a resumed training continues the run in `<checkpoint_dir>/mlflow_run_id`"),
       K::field("description", &M::description, "the run's note (mlflow.note.content)"),
       K::field("log_final_model", &M::log_final_model,
                "log the final checkpoint's model/ folder (LoRA adapter or HF weights, with consolidated/ when "
                "written) as artifacts under model/"),
       K::field("flatten_depth", &M::flatten_depth, "params: nesting levels split into keys; null: every level",
                [](const JsonFields& f, M& s) {
                  if (!f.has("flatten_depth")) return;
                  s.flatten_depth = f.get_int("flatten_depth");
                  AM_CHECK(*s.flatten_depth >= 0, "[config] {} must be >= 0 (or null: fully flattened)",
                           f.where("flatten_depth"));
                })}};
}

// "disabled" marks a section turned off while it is read (enable: false, mode: disabled); the
// other keys are then not read.
constexpr const char* kOff = "disabled";

void read_wandb_mode(const JsonFields& f, WandbSection& s) {
  // wandb.init() spellings: dryrun = offline, run = online; wandb's environment comes next.
  const bool keyed = std::getenv("WANDB_API_KEY") && *std::getenv("WANDB_API_KEY");
  s.mode = f.get_string("mode", env_or("WANDB_MODE", keyed ? "online" : "offline"));
  if (s.mode == "dryrun") s.mode = "offline";
  if (s.mode == "run") s.mode = "online";
  if (s.mode == kOff) return;
  AM_CHECK(s.mode == "offline" || s.mode == "online" || s.mode == "shared",
           "[config] {}: expected offline, online or disabled, found '{}'",
           f.has("mode") ? f.where("mode") : "WANDB_MODE", s.mode);
  if (s.mode == "shared") s.mode = "online";
}

Section<WandbSection> make_wandb() {
  using K = Key<WandbSection>;
  using W = WandbSection;
  constexpr const char* kConfigKeys = "the config is the whole resolved recipe, as AutoModel logs it";
  Section<WandbSection> section{
      "wandb",
      "A Weights & Biases run, streamed to W&B online (`WANDB_API_KEY`; server `$WANDB_BASE_URL`, default "
      "api.wandb.ai) or written offline for `wandb sync` (AutoModel's WandbConfig keys and the wandb.init() "
      "arguments it forwards).",
      {K::field("project", &W::project, "the W&B project"),
       K::field("entity", &W::entity, "the W&B team or user", [](const JsonFields& f, W& s) {
         s.entity = f.get_string("entity", env_or("WANDB_ENTITY", ""));
       }).def("`$WANDB_ENTITY`, else the syncing user's"),
       K::field("name", &W::name, "the run's name").def("the model path's last two parts joined by `_`"),
       K::field("group", &W::group, "the run's group"),
       K::field("tags", &W::tags, "the run's tags",
                [](const JsonFields& f, W& s) {
                  if (!f.has("tags")) return;
                  const auto& tags = f.raw("tags");
                  AM_CHECK(tags.is_array() || tags.is_string(), "[config] {}: expected a list of strings, found {}",
                           f.where("tags"), tags.type_name());
                  if (tags.is_string()) s.tags = {tags.get<std::string>()};
                  else s.tags = f.get_string_list("tags");
                })
           .type("string or list of strings"),
       K::field("notes", &W::notes, "the run's notes"),
       K::custom("enable", KeyUse::kEffect, "bool", "true", "false drops the section",
                 [](const JsonFields& f, W& s) {
                   if (!f.get_bool("enable", true)) s.mode = kOff;  // AutoModel drops the section
                 })
           .first(),
       K::field("mode", &W::mode, "online (also run, shared), offline (also dryrun) or disabled", read_wandb_mode)
           .def("`$WANDB_MODE`, else online with `WANDB_API_KEY` set, else offline")
           .only_when([](const W& s) { return s.mode != kOff; })
           .first(),
       K::field("dir", &W::dir, "runs go to dir/wandb/", [](const JsonFields& f, W& s) {
         s.dir = f.get_string("dir", env_or("WANDB_DIR", "."));
       }).def("`$WANDB_DIR`, else `.`"),
       K::field("save_dir", &W::dir, "Lightning's spelling of dir (dir wins)",
                [](const JsonFields& f, W& s) {
                  if (!f.has("save_dir")) return;
                  auto dir = f.get_string("save_dir");
                  if (!f.has("dir")) s.dir = dir;
                })
           .then([](const JsonFields& f, W& s) {
             AM_CHECK(!s.dir.empty(), "[config] {}: expected a folder, found an empty string", f.where("dir"));
           }),
       K::field("id", &W::id, "the run id; default: the resumed run's (`<checkpoint_dir>/wandb_run_id`) or a new one",
                [](const JsonFields& f, W& s) {
                  s.id = f.get_string("id", env_or("WANDB_RUN_ID", ""));
                  AM_CHECK(s.id.find_first_of("/\\ :") == std::string::npos, "[config] {}: a run id cannot hold '/', "
                           "'\\', ':' or spaces, found '{}'", f.has("id") ? f.where("id") : "WANDB_RUN_ID", s.id);
                })
           .def("`$WANDB_RUN_ID`, else new"),
       K::field("job_type", &W::job_type, "the run's job type"),
       K::no_effect("resume", "a resumed training reuses the run id in checkpoint_dir/wandb_run_id; `wandb sync` "
                              "appends its folder to that run"),
       K::no_effect("save_code", "no Python source to save"), K::no_effect("reinit", "one run per process"),
       K::no_effect("settings", "wandb client settings; runs are written offline by this build"),
       K::no_effect("anonymous", "offline runs take their user from `wandb sync`"),
       K::no_effect("config_exclude_keys", kConfigKeys), K::no_effect("config_include_keys", kConfigKeys)}};
  for (auto& key : section.keys)
    if (!key.early && key.read) key.when = [](const W& s) { return s.mode != kOff; };
  return section;
}

// The section's fields; an empty (null) section reads as {} (all defaults).
hf::JsonFields section_fields(const hf::JsonFields& root, const std::string& name) {
  if (root.has(name)) return root.child(name);
  return hf::JsonFields(std::make_shared<const nlohmann::json>(nlohmann::json::object()), root.label(), name + ".");
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

const Section<TensorBoardSection>& tensorboard_section() {
  static const auto section = make_tensorboard();
  return section;
}

const Section<MlflowSection>& mlflow_section() {
  static const auto section = make_mlflow();
  return section;
}

const Section<WandbSection>& wandb_section() {
  static const auto section = make_wandb();
  return section;
}

TensorBoardSection parse_tensorboard(const hf::JsonFields& root, const std::string& checkpoint_dir) {
  TensorBoardSection s;
  tensorboard_section().read(section_fields(root, "tensorboard"), s);
  if (s.log_dir.empty()) s.log_dir = (std::filesystem::path(checkpoint_dir) / "tensorboard").string();
  return s;
}

MlflowSection parse_mlflow(const hf::JsonFields& root, const nlohmann::json& body) {
  MlflowSection s;
  auto f = section_fields(root, "mlflow");
  mlflow_section().read(f, s);
  // An explicit null: fully flattened, as AutoModel's max_depth=None (has() is false for null).
  if (!f.has("flatten_depth") && body.is_object() && body.contains("flatten_depth")) s.flatten_depth.reset();
  return s;
}

std::optional<WandbSection> parse_wandb(const hf::JsonFields& root, const std::string& model_name) {
  WandbSection s;
  wandb_section().read(section_fields(root, "wandb"), s);
  if (s.mode == kOff) return std::nullopt;
  if (s.name.empty()) s.name = default_run_name(model_name);
  return s;
}

}  // namespace automodel::config
