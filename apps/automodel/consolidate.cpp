// `automodel consolidate CHECKPOINT [--out DIR]`: a complete HF folder from a training
// checkpoint (fsdp2 slices joined, or a LoRA adapter merged), for checkpoints saved without one.
#include <CLI/CLI.hpp>

#include <memory>

#include "automodel/checkpoint/consolidate.h"
#include "commands.h"

namespace automodel::cli {

void add_consolidate(CLI::App& app, Runner& run) {
  struct Args {
    std::string checkpoint, out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("consolidate", "Write a complete HF folder from a training checkpoint "
                                                "(default: CHECKPOINT/model/consolidated)");
  cmd->add_option("checkpoint", args->checkpoint, "Checkpoint folder, e.g. checkpoints/epoch_0_step_100")->required();
  cmd->add_option("--out", args->out, "Output folder (must not exist)");
  cmd->callback([&run, args] {
    run = [args] {
      checkpoint::consolidate_checkpoint(args->checkpoint, args->out);
      return 0;
    };
  });
}

}  // namespace automodel::cli
