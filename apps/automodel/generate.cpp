// `automodel generate`: continue a prompt with a model folder (KV cache; greedy or sampling).
// Until tokenizers land, prompts and outputs are token ids.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/json_fields.h"
#include <nlohmann/json.hpp>
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/models/common/generation.h"
#include "automodel/models/registry.h"
#include "commands.h"

namespace automodel::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt_ids, dtype = "fp32", device = "cpu";
  models::SamplingOptions sampling;
};

int run_generate(GenerateArgs args) {
  std::vector<int64_t> prompt;
  for (const auto& part : split(args.prompt_ids, ',')) {
    try {
      prompt.push_back(std::stoll(part));
    } catch (const std::exception&) {
      AM_FAIL("[generate] --prompt-ids: '{}' is not an integer token id", part);
    }
  }
  models::LoadOptions load{parse_compute_dtype(args.dtype), parse_device(args.device), /*read_only_weights=*/true};
  auto model = models::load_pretrained(args.model, load);
  for (auto id : prompt)
    AM_CHECK(id >= 0 && id < model->vocab_size(), "[generate] --prompt-ids: id {} is outside the vocabulary [0, {})", id,
             model->vocab_size());
  if (args.sampling.eos_token_ids.empty()) {
    auto fields = model->config().fields();
    if (fields.has("eos_token_id")) {
      const auto& eos = fields.raw("eos_token_id");
      if (eos.is_number_integer()) args.sampling.eos_token_ids.push_back(eos.get<int64_t>());
      if (eos.is_array())
        for (const auto& e : eos) args.sampling.eos_token_ids.push_back(e.get<int64_t>());
    }
  }
  auto ids = models::generate(*model, prompt, args.sampling);
  std::vector<std::string> parts;
  for (auto id : ids) parts.push_back(std::to_string(id));
  fmt::print("[{}]\n", join(parts, ", "));
  return 0;
}

}  // namespace

void add_generate(CLI::App& app, Runner& run) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate a continuation with a KV cache");
  cmd->add_option("--model", args->model, "HF model folder or cached hub id")->required();
  cmd->add_option("--prompt-ids", args->prompt_ids, "comma-separated prompt token ids")->required();
  cmd->add_option("--max-new-tokens", args->sampling.max_new_tokens)->capture_default_str();
  cmd->add_option("--temperature", args->sampling.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", args->sampling.top_p)->capture_default_str();
  cmd->add_option("--top-k", args->sampling.top_k)->capture_default_str();
  cmd->add_option("--seed", args->sampling.seed)->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->callback([args, &run] { run = [args] { return run_generate(*args); }; });
}

}  // namespace automodel::cli
