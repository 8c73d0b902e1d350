// `automodel inspect DIR`: what a model folder holds (architecture, parameter groups, dtypes,
// shards, tying) and roughly how much memory full and LoRA fine-tuning would need.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <map>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/registry.h"
#include "commands.h"

namespace automodel::cli {
namespace {

std::string parameter_group(const std::string& name) {
  if (name.find("lm_head") != std::string::npos) return "lm_head";
  if (name.find("embed") != std::string::npos || name.find(".wte.") != std::string::npos ||
      name.find(".wpe.") != std::string::npos)
    return "embeddings";
  if (name.find("norm") != std::string::npos || name.find(".ln_") != std::string::npos) return "norms";
  if (name.find("attn") != std::string::npos) return "attention";
  if (name.find("experts") != std::string::npos || name.find(".gate.") != std::string::npos) return "moe";
  if (name.find("mlp") != std::string::npos) return "mlp";
  return "other";
}

int run_inspect(const std::string& name_or_path, int64_t lora_rank, int64_t tokens) {
  auto folder = hf::resolve_model_folder(name_or_path);
  auto model = models::build_layout(folder);
  const auto& config = model->config();
  const auto& arch = models::find_architecture(config.model_type, config.label);

  fmt::print("model        {}\n", folder.string());
  fmt::print("architecture {} (model_type {}{})\n", arch.hf_class, config.model_type,
             config.composite ? ", the language model of a " + config.composite->model_type + " checkpoint" : "");
  std::map<std::string, int64_t> groups;
  int64_t total = 0, linear_lora = 0;
  for (const auto& p : model->named_parameters()) {
    groups[parameter_group(p.name)] += p.tensor->numel();
    total += p.tensor->numel();
    // LoRA default targets: every *_proj Linear (in + out features per rank).
    if (p.tensor->dim() == 2 && p.name.ends_with("_proj.weight")) linear_lora += lora_rank * (p.tensor->size(0) + p.tensor->size(1));
  }
  fmt::print("parameters   {} ({})\n", human_count(static_cast<double>(total)), total);
  for (const auto& [group, n] : groups) fmt::print("  {:<11} {:>10} ({:.1f}%)\n", group, human_count(static_cast<double>(n)), 100.0 * n / total);
  auto tied = model->tied_aliases();
  fmt::print("tied weights {}\n", tied.empty() ? "none" : join(tied, ", ") + " -> input embedding");

  if (std::filesystem::exists(folder / "model.safetensors") || std::filesystem::exists(folder / "model.safetensors.index.json")) {
    auto ckpt = hf::SafetensorsCheckpoint::open(folder);
    std::map<std::string, int64_t> dtypes;
    for (const auto& n : ckpt.names()) dtypes[std::string(hf::dtype_name(ckpt.get(n).entry->dtype))] += ckpt.get(n).entry->numel();
    std::vector<std::string> parts;
    for (const auto& [dt, n] : dtypes) parts.push_back(fmt::format("{} {}", dt, human_count(static_cast<double>(n))));
    fmt::print("dtypes       {}\n", join(parts, ", "));
    fmt::print("shards       {} file(s), {}\n", ckpt.files().size(), human_bytes(static_cast<double>(ckpt.total_bytes())));
  } else {
    fmt::print("weights      none found (config only)\n");
  }

  // Rough budget: full FT keeps fp32 master weights, grads and AdamW moments (16 B/param) plus
  // a bf16 compute copy; LoRA keeps frozen bf16 weights and trains only the adapters.
  const double P = static_cast<double>(total), A = static_cast<double>(linear_lora);
  double hidden = static_cast<double>(model->hidden_size());
  double layers = static_cast<double>(model->num_layers());
  double activations = static_cast<double>(tokens) * layers * hidden * 34.0;  // bf16, no recompute
  fmt::print("training memory estimate ({} tokens per micro-batch, bf16 compute, AdamW):\n", tokens);
  fmt::print("  full fine-tune  {} (weights+grads+optimizer {}, activations ~{})\n", human_bytes(P * 18 + activations),
             human_bytes(P * 18), human_bytes(activations));
  fmt::print("  LoRA rank {:<4}  {} (frozen bf16 weights {}, {} adapter params, activations ~{})\n", lora_rank,
             human_bytes(P * 2 + A * 16 + activations), human_bytes(P * 2), human_count(A), human_bytes(activations));
  return 0;
}

}  // namespace

void add_inspect(CLI::App& app, Runner& run) {
  struct Args {
    std::string model;
    int64_t lora_rank = 8, tokens = 4096;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("inspect", "Describe an HF model folder and estimate fine-tuning memory");
  cmd->add_option("model", args->model, "HF model folder or hub id (org/name, hf://org/name@revision)")->required();
  cmd->add_option("--lora-rank", args->lora_rank, "LoRA rank for the estimate")->capture_default_str();
  cmd->add_option("--tokens", args->tokens, "tokens per micro-batch for the estimate")->capture_default_str();
  cmd->callback([args, &run] { run = [args] { return run_inspect(args->model, args->lora_rank, args->tokens); }; });
}

}  // namespace automodel::cli
