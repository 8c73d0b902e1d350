// libFuzzer target: arbitrary bytes as a recipe YAML, through what load_recipe runs on a file
// (parse_yaml, ${ENV} interpolation, schema validation, typed sections), then the config.yaml
// writer on the tree. Must either accept or throw automodel::Error. Build and run: scripts/fuzz.sh
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "automodel/common/error.h"
#include "automodel/config/overrides.h"
#include "automodel/config/recipe_config.h"
#include "automodel/config/yaml_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto tree = automodel::config::parse_yaml(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    automodel::config::interpolate_env(tree);
    auto recipe = automodel::config::parse_recipe(std::move(tree), "fuzz.yaml");
    // Checkpoints save the accepted tree as config.yaml, and resume reads that file back.
    (void)automodel::config::parse_yaml(automodel::config::to_yaml(recipe.tree), "config.yaml");
  } catch (const automodel::Error&) {
  }
  return 0;
}
