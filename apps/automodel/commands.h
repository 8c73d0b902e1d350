// Subcommands of the `automodel` binary: each file adds its options to the CLI and returns the
// function that runs it.
#pragma once

#include <functional>

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

}  // namespace automodel::cli
