#include "automodel/recipes/registry.h"

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/recipes/llm_finetune.h"

namespace automodel::recipes {

const std::vector<RecipeEntry>& recipe_registry() {
  static const std::vector<RecipeEntry> entries = {
      {"TrainFinetuneRecipeForNextTokenPrediction", "nemo_automodel.recipes.llm.train_ft", &run_llm_finetune},
      {"FinetuneRecipeForVLM", "nemo_automodel.recipes.vlm.finetune", &run_llm_finetune},
      // AutoModel's other recipes: recognised, so a recipe naming one gets a clear error.
      {"KnowledgeDistillationRecipeForNextTokenPrediction", "nemo_automodel.recipes.llm.kd", nullptr},
      {"TrainFinetuneRecipeForSequenceClassification", "nemo_automodel.recipes.llm.train_seq_cls", nullptr},
      {"BenchmarkingRecipeForNextTokenPrediction", "nemo_automodel.recipes.llm.benchmark", nullptr},
  };
  return entries;
}

const RecipeEntry& resolve_recipe(const std::string& name, const std::string& where) {
  const auto& entries = recipe_registry();
  if (name.empty()) return entries.front();
  // "pkg.module.Class" and "Class" name the same recipe.
  const auto dot = name.rfind('.');
  const std::string short_name = dot == std::string::npos ? name : name.substr(dot + 1);
  std::vector<std::string> runnable, known;
  for (const auto& e : entries) {
    known.emplace_back(e.name);
    if (e.run) runnable.emplace_back(e.name);
    if (short_name != e.name) continue;
    AM_CHECK(dot == std::string::npos || name.substr(0, dot) == e.module,
             "[config] {}: recipe {} names {} in module {}, but AutoModel defines it in {}", where, name, e.name,
             name.substr(0, dot), e.module);
    AM_CHECK(e.run, "[config] {}: recipe {} (AutoModel's {}) is not implemented in this build yet; it runs: {}", where,
             name, e.module, join(runnable, ", "));
    return e;
  }
  const auto nearest = nearest_name(short_name, known);
  AM_FAIL("[config] {}: unknown recipe {}{}; this build runs: {}", where, name,
          nearest.empty() ? "" : fmt::format(" (did you mean {}?)", nearest), join(runnable, ", "));
}

}  // namespace automodel::recipes
