#include <gtest/gtest.h>

#include "automodel/common/error.h"
#include "automodel/recipes/llm_finetune.h"
#include "automodel/recipes/registry.h"

using automodel::recipes::resolve_recipe;

namespace {
std::string error_of(const std::string& name) {
  try {
    resolve_recipe(name, "r.yaml");
  } catch (const automodel::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(RecipeRegistry, ShortAndDottedClassNamesAndNoNameRunTheLlmRecipe) {
  for (const std::string name : {"", "TrainFinetuneRecipeForNextTokenPrediction",
                                 "nemo_automodel.recipes.llm.train_ft.TrainFinetuneRecipeForNextTokenPrediction"}) {
    const auto& e = resolve_recipe(name, "r.yaml");
    EXPECT_EQ(e.name, "TrainFinetuneRecipeForNextTokenPrediction") << name;
    EXPECT_EQ(e.run, &automodel::recipes::run_llm_finetune) << name;
  }
}

TEST(RecipeRegistry, FinetuneRecipeForVlmRunsTheFineTuningRecipe) {
  EXPECT_EQ(resolve_recipe("nemo_automodel.recipes.vlm.finetune.FinetuneRecipeForVLM", "r.yaml").run,
            &automodel::recipes::run_llm_finetune);
}

TEST(RecipeRegistry, AutoModelRecipesThisBuildLacksAreNamedAsNotImplemented) {
  auto e = error_of("KnowledgeDistillationRecipeForNextTokenPrediction");
  EXPECT_NE(e.find("KnowledgeDistillationRecipeForNextTokenPrediction"), std::string::npos) << e;
  EXPECT_NE(e.find("not implemented in this build"), std::string::npos) << e;
  EXPECT_NE(e.find("TrainFinetuneRecipeForNextTokenPrediction"), std::string::npos) << e;
}

TEST(RecipeRegistry, ATypoIsAnErrorSuggestingTheNearestRecipe) {
  auto e = error_of("TrainFinetuneRecipeForNextTokenPredictio");
  EXPECT_NE(e.find("r.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean TrainFinetuneRecipeForNextTokenPrediction?"), std::string::npos) << e;
  auto wrong_module = error_of("nemo_automodel.recipes.vlm.finetune.TrainFinetuneRecipeForNextTokenPrediction");
  EXPECT_NE(wrong_module.find("nemo_automodel.recipes.llm.train_ft"), std::string::npos) << wrong_module;
}
