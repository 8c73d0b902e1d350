#include "automodel/config/recipe_config.h"

#include <set>

#include "automodel/common/error.h"
#include "automodel/config/section_keys.h"
#include "automodel/config/yaml_json.h"
#include "automodel/hf/json_fields.h"

namespace automodel::config {
namespace {

using hf::JsonFields;

// YAML readers pass bytes through unchecked, and nlohmann throws a raw type_error when a string
// that is not UTF-8 is printed (error messages, config.yaml): reject it here, naming the field.
void check_utf8(const nlohmann::json& v, const std::string& label, const std::string& path) {
  auto check = [&](const std::string& s, const std::string& where) {
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
      AM_FAIL("[config] {}: {} is not valid UTF-8 (save the recipe as UTF-8)", label, where);
    }
  };
  if (v.is_string()) {
    check(v.get_ref<const std::string&>(), "field '" + path + "'");
  } else if (v.is_object()) {
    for (const auto& [key, item] : v.items()) {
      check(key, "a key under '" + path + "'");
      check_utf8(item, label, path.empty() ? key : path + "." + key);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) check_utf8(v[i], label, path + "[" + std::to_string(i) + "]");
  }
}

bool is_vlm_dataset(Component kind) {
  return kind == Component::kVlmConversationDataset || kind == Component::kVlmRdrDataset ||
         kind == Component::kVlmCordV2Dataset || kind == Component::kVlmMedpixDataset;
}

// The model loader, the datasets and packing agree with the recipe class.
void check_recipe_kind(const RecipeConfig& c) {
  std::vector<const DatasetSection*> datasets = {&c.dataset};
  if (c.validation_dataset) datasets.push_back(&*c.validation_dataset);
  if (!c.vlm()) {
    AM_CHECK(!c.model.image_text_to_text, "[config] {}: model._target_ loads a vision-language model; set "
             "recipe: FinetuneRecipeForVLM", c.label);
    for (const auto* d : datasets)
      AM_CHECK(!is_vlm_dataset(d->kind), "[config] {}: {}._target_ is a VLM dataset (images); set recipe: "
               "FinetuneRecipeForVLM", c.label, d->label);
    return;
  }
  for (const auto* d : datasets)
    AM_CHECK(is_vlm_dataset(d->kind), "[config] {}: FinetuneRecipeForVLM needs a VLM dataset in {}._target_ "
             "(make_rdr_dataset, make_cord_v2_dataset, make_medpix_dataset, make_meta_dataset or "
             "automodel.data.VlmConversationDataset)", c.label, d->label);
  AM_CHECK(c.packed_sequence_size == 0, "[config] {}: packed_sequence.packed_sequence_size: FinetuneRecipeForVLM "
           "does not pack (each row holds one conversation and its images); remove it", c.label);
}

}  // namespace

bool RecipeConfig::vlm() const {
  const auto dot = recipe.rfind('.');
  return (dot == std::string::npos ? recipe : recipe.substr(dot + 1)) == "FinetuneRecipeForVLM";
}

RecipeConfig parse_recipe(nlohmann::json tree, const std::string& label) {
  check_utf8(tree, label, "");
  auto ignored = validate_schema(tree, label);
  RecipeConfig c;
  c.ignored = std::move(ignored);
  c.label = label;
  c.tree = tree;
  auto root = std::make_shared<const nlohmann::json>(std::move(tree));
  auto read = std::make_shared<std::set<std::string>>();
  JsonFields f(root, label);
  f.record_reads(read);
  // An absent (or null) section reads as {}: every key at its default.
  auto section = [&](const std::string& name) {
    return f.has(name) ? f.child(name) : JsonFields(std::make_shared<const nlohmann::json>(nlohmann::json::object()),
                                                   label, name + ".");
  };
  auto read_section = [&](const std::string& name, const JsonFields& fields) { recipe_section(name)->read(fields, c); };

  // Sections whose keys other sections check come first (local_batch_size before the loaders'
  // batch_size; distributed before distributed_config, whose values win).
  read_section("model", f.child("model"));
  c.dataset = parse_dataset(f.child("dataset"), "dataset");
  if (f.has("validation_dataset")) c.validation_dataset = parse_dataset(f.child("validation_dataset"), "validation_dataset");
  for (const char* name : {"step_scheduler", "dataloader", "validation_dataloader", "optimizer"})
    read_section(name, section(name));
  if (f.has("lr_scheduler")) {
    c.lr_scheduler.enabled = true;
    read_section("lr_scheduler", f.child("lr_scheduler"));
  }
  read_section("loss_fn", section("loss_fn"));
  if (f.has("peft")) {
    c.peft.enabled = true;
    read_section("peft", f.child("peft"));
  }
  for (const char* name : {"checkpoint", "packed_sequence", "distributed", "distributed_config", "dist_env",
                           "clip_grad_norm", "rng", "benchmark"})
    read_section(name, section(name));
  read_section("recipe", f);  // a value: the recipe class
  read_section("seed", f);  // a value (seed: 42), read after rng.seed so that it wins
  check_recipe_kind(c);
  if (c.vlm()) {  // read only here: in an LLM recipe their keys are reported as without effect
    read_section("freeze_config", section("freeze_config"));
    read_section("processor", section("processor"));
  }
  if (root->contains("tensorboard")) c.tensorboard = parse_tensorboard(f, c.checkpoint.checkpoint_dir);
  if (root->contains("mlflow")) c.mlflow = parse_mlflow(f, (*root)["mlflow"]);
  if (root->contains("wandb")) c.wandb = parse_wandb(f, c.model.name_or_path);
  if (c.mlflow && c.mlflow->log_final_model && !c.checkpoint.enabled)
    c.ignored.push_back("accepted, no effect here: mlflow.log_final_model (checkpoint.enabled is false, so no final "
                        "checkpoint is written)");
  auto without_effect = keys_without_effect(*root, *read);
  c.ignored.insert(c.ignored.end(), without_effect.begin(), without_effect.end());
  return c;
}

RecipeConfig load_recipe(const std::filesystem::path& path, const std::vector<Override>& overrides) {
  auto tree = load_yaml_file(path);
  for (const auto& o : overrides) apply_override(tree, o);
  interpolate_env(tree);
  return parse_recipe(std::move(tree), path.string());
}

}  // namespace automodel::config
