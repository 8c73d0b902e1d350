// `automodel <recipe.yaml> [--a.b.c=value ...]`: loads the recipe with overrides and runs it.
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/torch_util.h"
#include "automodel/config/recipe_config.h"
#include "automodel/dist/launcher.h"
#include "automodel/recipes/registry.h"
#include "commands.h"

namespace automodel::cli {

bool looks_like_recipe(const std::string& arg) { return arg.ends_with(".yaml") || arg.ends_with(".yml"); }

namespace {

// torchrun's launcher flags ("--flag value" or "--flag=value"); the rest are recipe overrides.
dist::LaunchOptions take_launch_flags(const std::vector<std::string>& args, std::vector<std::string>& overrides) {
  dist::LaunchOptions launch;
  const std::vector<std::pair<std::string, int*>> numbers = {{"--nproc-per-node", &launch.nproc_per_node},
                                                             {"--nnodes", &launch.nnodes},
                                                             {"--node-rank", &launch.node_rank},
                                                             {"--master-port", &launch.master_port}};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    bool known = flag == "--master-addr";
    for (const auto& [name, _] : numbers) known = known || flag == name;
    if (!known) {
      overrides.push_back(args[i]);
      continue;
    }
    if (value.empty()) {
      AM_CHECK(i + 1 < args.size(), "[cli] {} needs a value", flag);
      value = args[++i];
    }
    if (flag == "--master-addr") {
      launch.master_addr = value;
      continue;
    }
    for (const auto& [name, target] : numbers)
      if (flag == name) try {
          *target = std::stoi(value);
        } catch (const std::exception&) {
          AM_FAIL("[cli] {}: '{}' is not a number", flag, value);
        }
  }
  AM_CHECK(launch.nproc_per_node >= 1, "[cli] --nproc-per-node must be >= 1, found {}", launch.nproc_per_node);
  return launch;
}

}  // namespace

int run_recipe(const std::string& path, const std::vector<std::string>& args) {
  // Launcher flags start local workers; workers (RANK set) ignore them.
  std::vector<std::string> overrides;
  const auto launch = take_launch_flags(args, overrides);
  // Parse before launching: a bad recipe fails once, not once per worker.
  auto recipe = config::load_recipe(path, config::parse_override_args(overrides));
  const auto& recipe_class = recipes::resolve_recipe(recipe.recipe, recipe.label);
  if ((launch.nproc_per_node > 1 || launch.nnodes > 1) && !std::getenv("RANK")) {
    std::vector<std::string> worker_args{path};
    worker_args.insert(worker_args.end(), overrides.begin(), overrides.end());
    return dist::launch_local_workers(launch, worker_args);
  }
  // Workers on one machine share its cores.
  int local_world = 1;
  for (const char* name : {"LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE"})
    if (const char* v = std::getenv(name)) {
      local_world = std::max(1, std::atoi(v));  // "4(x2)" reads as 4
      break;
    }
  init_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / local_world));
  auto summary = recipe_class.run(recipe);
  log_info("{}: {} steps{}", summary.stop_signal ? "stopped" : "done", summary.steps,
           summary.last_checkpoint.empty() ? "" : ", last checkpoint " + summary.last_checkpoint.string());
  return summary.stop_signal ? 128 + summary.stop_signal : 0;  // as a shell reports a process ended by it
}

}  // namespace automodel::cli
