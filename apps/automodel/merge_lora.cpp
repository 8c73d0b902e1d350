// `automodel merge-lora --base DIR --adapter DIR --out DIR`: folds a PEFT LoRA adapter into its
// base model and writes a complete HF folder (weights in the base checkpoint's dtype).
#include <CLI/CLI.hpp>

#include <filesystem>

#include "automodel/checkpoint/consolidate.h"
#include "automodel/checkpoint/run_dir.h"
#include "automodel/checkpoint/training_state.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"
#include "commands.h"

namespace fs = std::filesystem;

namespace automodel::cli {
namespace {

struct MergeArgs {
  std::string base, adapter, out;
};

int run_merge(const MergeArgs& args) {
  auto folder = hf::resolve_model_folder(args.base);
  AM_CHECK(fs::absolute(args.out) != fs::absolute(folder), "[merge-lora] --out must differ from --base");
  models::LoadOptions load;
  load.dtype = checkpoint::hf_export_dtype(folder);
  load.read_only_weights = true;  // only read: merged weights are new tensors
  auto model = models::load_pretrained(folder.string(), load);
  peft::load_adapter(*model, args.adapter);
  fs::create_directories(args.out);
  checkpoint::copy_model_metadata(folder, args.out);
  checkpoint::write_generation_config(model->config(), args.out);
  models::save_weights(*model, args.out);
  log_info("merged {} into {}: wrote {}", args.adapter, folder.string(), args.out);
  return 0;
}

}  // namespace

void add_merge_lora(CLI::App& app, Runner& run) {
  auto args = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge-lora", "Merge a PEFT LoRA adapter into its base model (HF folder out)");
  cmd->add_option("--base", args->base, "Base model folder or cached hub id")->required();
  cmd->add_option("--adapter", args->adapter, "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  cmd->add_option("--out", args->out, "Output folder")->required();
  cmd->callback([&run, args] { run = [args] { return run_merge(*args); }; });
}

}  // namespace automodel::cli
