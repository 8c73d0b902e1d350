// The typed key declarations of every recipe section (config/key.h): the parser reads through
// them, the schema and docs list them, the dataset cache key hashes the dataset's.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "automodel/config/key.h"
#include "automodel/config/recipe_config.h"

namespace automodel::config {

using RecipeKey = Key<RecipeConfig>;

// The reason shared by the options that only pick a kernel.
inline constexpr const char* kKernelChoice = "a kernel choice; this build has its own kernels";
using RecipeSection = Section<RecipeConfig>;

// Sections read into RecipeConfig: model, dataloaders, step_scheduler, optimizer, lr_scheduler,
// loss_fn, peft, checkpoint (training_keys.cpp).
const std::vector<RecipeSection>& training_sections();
// recipe, seed, rng, packed_sequence, distributed, distributed_config, dist_env, clip_grad_norm,
// benchmark, compile, ci (runtime_keys.cpp).
const std::vector<RecipeSection>& runtime_sections();
// One of the two lists above by name; null when `name` is read into another struct.
const RecipeSection* recipe_section(const std::string& name);

// dataset and validation_dataset (dataset_keys.cpp).
const Section<DatasetSection>& dataset_section();
DatasetSection parse_dataset(const hf::JsonFields& f, const std::string& section);

// Experiment trackers (tracker_sections.cpp).
const Section<TensorBoardSection>& tensorboard_section();
const Section<MlflowSection>& mlflow_section();
const Section<WandbSection>& wandb_section();

// A key that is true / false or a name (HF's and AutoModel's spellings of on and off): `named`
// checks the name and says whether it means on. Unset when the recipe does not set the key.
inline std::optional<bool> bool_or_name(const hf::JsonFields& f, const std::string& key,
                                        const std::function<bool(const std::string&)>& named) {
  if (!f.has(key)) return std::nullopt;
  if (f.raw(key).is_boolean()) return f.get_bool(key);
  return named(f.get_string(key));
}

// Checks `_target_` when the section sets it (the component is chosen elsewhere).
template <typename S>
typename Key<S>::Reader target_check(std::string section) {
  return [section = std::move(section)](const hf::JsonFields& f, S&) {
    if (f.has("_target_")) resolve_target(section, f.get_string("_target_"), f.where("_target_"));
  };
}

}  // namespace automodel::config
