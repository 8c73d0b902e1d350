// `automodel merge-lora --base DIR --adapter DIR --out DIR`: folds a PEFT LoRA adapter into its
// base model and writes a complete HF folder (weights in the base checkpoint's dtype).
#include <CLI/CLI.hpp>

#include "automodel/checkpoint/consolidate.h"
#include "automodel/hf/model_source.h"
#include "commands.h"

namespace automodel::cli {
namespace {

struct MergeArgs {
  std::string base, adapter, out;
};

int run_merge(const MergeArgs& args) {
  checkpoint::merge_lora(hf::resolve_model_folder(args.base), args.adapter, args.out);
  return 0;
}

}  // namespace

void add_merge_lora(CLI::App& app, Runner& run) {
  auto args = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge-lora", "Merge a PEFT LoRA adapter into its base model (HF folder out)");
  cmd->add_option("--base", args->base, "Base model folder or hub id (org/name, hf://org/name@revision)")->required();
  cmd->add_option("--adapter", args->adapter, "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  cmd->add_option("--out", args->out, "Output folder (must not exist)")->required();
  cmd->callback([&run, args] { run = [args] { return run_merge(*args); }; });
}

}  // namespace automodel::cli
