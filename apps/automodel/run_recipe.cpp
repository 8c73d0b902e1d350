// `automodel <recipe.yaml> [--a.b.c=value ...]`: loads the recipe with overrides and runs it.
#include <string>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/config/recipe_config.h"
#include "automodel/recipes/llm_finetune.h"
#include "commands.h"

namespace automodel::cli {

bool looks_like_recipe(const std::string& arg) { return arg.ends_with(".yaml") || arg.ends_with(".yml"); }

int run_recipe(const std::string& path, const std::vector<std::string>& args) {
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    AM_CHECK(args[i] != "--nproc-per-node" && !args[i].starts_with("--nproc-per-node="),
             "[cli] --nproc-per-node: multi-process training is not supported yet; run one process");
    overrides.push_back(args[i]);
  }
  auto recipe = config::load_recipe(path, config::parse_override_args(overrides));
  auto summary = recipes::run_llm_finetune(recipe);
  log_info("done: {} steps{}", summary.steps,
           summary.last_checkpoint.empty() ? "" : ", last checkpoint " + summary.last_checkpoint.string());
  return 0;
}

}  // namespace automodel::cli
