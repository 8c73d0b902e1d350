// The recipes this build runs, keyed by NeMo AutoModel's recipe class names (the YAML's
// `recipe:` key: the short class name, its dotted path, or `{_target_: ...}`). A new recipe is
// one function wiring the components plus one line here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "automodel/config/recipe_config.h"
#include "automodel/recipes/summary.h"

namespace automodel::recipes {

using RecipeRunner = FinetuneSummary (*)(const config::RecipeConfig&);

struct RecipeEntry {
  std::string_view name;    // AutoModel's class name
  std::string_view module;  // its Python module, so dotted paths resolve too
  RecipeRunner run;         // null: AutoModel has it, this build does not yet
};

const std::vector<RecipeEntry>& recipe_registry();

// `name` (short, dotted, or "" for the default LLM fine-tuning recipe) to the recipe that runs
// it. Errors name `where`, the value, the nearest name and the recipes this build runs.
const RecipeEntry& resolve_recipe(const std::string& name, const std::string& where);

}  // namespace automodel::recipes
