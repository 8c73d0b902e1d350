// Subcommands of the `automodel` binary: each file adds its options to the CLI and returns the
// function that runs it.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace automodel::cli {

using Runner = std::function<int()>;

// Each registers a subcommand on `app` and sets `run` to execute it when chosen.
void add_debug_forward(CLI::App& debug, Runner& run);
void add_inspect(CLI::App& app, Runner& run);
void add_generate(CLI::App& app, Runner& run);
void add_tokenize(CLI::App& app, Runner& run);
void add_render_chat(CLI::App& app, Runner& run);
void add_merge_lora(CLI::App& app, Runner& run);
void add_consolidate(CLI::App& app, Runner& run);
void add_slurm(CLI::App& app, Runner& run);
void add_plot(CLI::App& app, Runner& run);
void add_list_models(CLI::App& app, Runner& run);

// `automodel recipe.yaml [--a.b=v ...]` (dispatched before the subcommand parser).
bool looks_like_recipe(const std::string& arg);
int run_recipe(const std::string& path, const std::vector<std::string>& args);

}  // namespace automodel::cli
