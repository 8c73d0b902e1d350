// Command-line overrides of a recipe (`--a.b.c=value`, `--a.b.c value`, `--peft=null` removes
// a section) and ${ENV} / ${ENV,default} interpolation in string values.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace automodel::config {

struct Override {
  std::string path;   // dotted: "step_scheduler.max_steps"
  std::string value;  // as typed; parsed as a YAML value
};

// Turns ["--a.b=1", "--c.d", "x"] into overrides; an argument that is not --key is an error.
std::vector<Override> parse_override_args(const std::vector<std::string>& args);
// New keys are allowed (AutoModel accepts them); a null value removes the key.
void apply_override(nlohmann::json& tree, const Override& override_);
// Replaces ${NAME} and ${NAME,default} in every string; a whole-string reference is typed like a
// YAML scalar ("${STEPS,10}" -> 10). An unset variable without default is an error naming the key.
void interpolate_env(nlohmann::json& tree);

}  // namespace automodel::config
