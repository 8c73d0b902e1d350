// `automodel <recipe.yaml> [--a.b.c=value ...]`: loads the recipe with overrides and runs it.
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/torch_util.h"
#include "automodel/config/recipe_config.h"
#include "automodel/dist/launcher.h"
#include "automodel/recipes/llm_finetune.h"
#include "commands.h"

namespace automodel::cli {

bool looks_like_recipe(const std::string& arg) { return arg.ends_with(".yaml") || arg.ends_with(".yml"); }

int run_recipe(const std::string& path, const std::vector<std::string>& args) {
  // --nproc-per-node N (or =N) starts N local workers; workers (RANK set) ignore it.
  int nproc = 1;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--nproc-per-node") {
      AM_CHECK(i + 1 < args.size(), "[cli] --nproc-per-node needs a number");
      value = args[++i];
    } else if (args[i].starts_with("--nproc-per-node=")) {
      value = args[i].substr(strlen("--nproc-per-node="));
    } else {
      overrides.push_back(args[i]);
      continue;
    }
    try {
      nproc = std::stoi(value);
    } catch (const std::exception&) {
      AM_FAIL("[cli] --nproc-per-node: '{}' is not a number", value);
    }
    AM_CHECK(nproc >= 1, "[cli] --nproc-per-node must be >= 1, found {}", nproc);
  }
  // Parse before launching: a bad recipe fails once, not once per worker.
  auto recipe = config::load_recipe(path, config::parse_override_args(overrides));
  if (nproc > 1 && !std::getenv("RANK")) {
    std::vector<std::string> worker_args{path};
    worker_args.insert(worker_args.end(), overrides.begin(), overrides.end());
    return dist::launch_local_workers(nproc, worker_args);
  }
  // Workers on one machine share its cores.
  int local_world = 1;
  for (const char* name : {"LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE"})
    if (const char* v = std::getenv(name)) {
      local_world = std::max(1, std::atoi(v));  // "4(x2)" reads as 4
      break;
    }
  init_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / local_world));
  auto summary = recipes::run_llm_finetune(recipe);
  log_info("done: {} steps{}", summary.steps,
           summary.last_checkpoint.empty() ? "" : ", last checkpoint " + summary.last_checkpoint.string());
  return 0;
}

}  // namespace automodel::cli
