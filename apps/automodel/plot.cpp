// `automodel plot RUN_DIR`: (re)draw a run's training curves (loss with validation loss, lr,
// gradient norm, throughput) as RUN_DIR/training_curves.png and .svg from its jsonl logs.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "automodel/train/plots/training_plots.h"
#include "commands.h"

namespace automodel::cli {

void add_plot(CLI::App& app, Runner& run) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("plot", "Draw a run's training curves as training_curves.png and .svg "
                                         "next to its training.jsonl");
  cmd->add_option("run_dir", *dir, "The run's checkpoint_dir (holds training.jsonl, validation.jsonl)")->required();
  cmd->callback([&run, dir] {
    run = [dir] {
      const auto files = train::write_training_plots(*dir);
      fmt::print("{}\n{}\n", files.png.string(), files.svg.string());
      return 0;
    };
  });
}

}  // namespace automodel::cli
