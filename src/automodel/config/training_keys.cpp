// Declarations of the sections that say what is trained and how: model, dataloaders,
// step_scheduler, optimizer, lr_scheduler, loss_fn, peft, checkpoint.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <limits>
#include <map>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/config/section_keys.h"
#include "automodel/hf/dtype.h"

namespace automodel::config {
namespace {

using hf::JsonFields;
using K = RecipeKey;

constexpr auto kModel = &RecipeConfig::model;
constexpr auto kSteps = &RecipeConfig::step_scheduler;
constexpr auto kOpt = &RecipeConfig::optimizer;
constexpr auto kLr = &RecipeConfig::lr_scheduler;
constexpr auto kLoss = &RecipeConfig::loss;
constexpr auto kPeft = &RecipeConfig::peft;
constexpr auto kCkpt = &RecipeConfig::checkpoint;

constexpr const char* kLoaderWorkers = "rows are tokenized up front on every core and batches built in memory";

std::vector<std::string> string_or_list(const JsonFields& f, const std::string& key) {
  if (!f.has(key)) return {};
  if (f.raw(key).is_string()) return {f.get_string(key)};
  return f.get_string_list(key);
}

RecipeSection model_section() {
  return {"model", "The model to fine-tune: an HF folder or hub id, built by the architecture its config.json names.",
          {K::checked("_target_", "string", "NeMoAutoModelForCausalLM.from_pretrained",
                      "AutoModel's or transformers' causal-LM loader (all build the same model here), or their "
                      "ImageTextToText loader for FinetuneRecipeForVLM",
                      [](const JsonFields& f, RecipeConfig& c) {
                        if (!f.has("_target_")) return;
                        c.model.image_text_to_text = resolve_target("model", f.get_string("_target_"),
                                                                    f.where("_target_")) == Component::kImageTextToText;
                      }),
           K::field("pretrained_model_name_or_path", kModel, &ModelSection::name_or_path,
                    "a local HF model folder or a hub id (`org/name`, `hf://org/name@revision`)",
                    [](const JsonFields& f, RecipeConfig& c) {
                      c.model.name_or_path = f.get_string("pretrained_model_name_or_path");
                    })
               .def("required"),
           K::field("revision", kModel, &ModelSection::revision, "hub branch, tag or commit of a model named by hub id"),
           K::field("torch_dtype", kModel, &ModelSection::torch_dtype,
                    "compute dtype: auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16; weights and optimizer state "
                    "stay fp32")
               .then([](const JsonFields& f, RecipeConfig& c) {
                 const auto& dtype = c.model.torch_dtype;
                 AM_CHECK(dtype == "auto" || hf::parse_compute_dtype_alias(dtype), "[config] {}: expected auto, {}; "
                          "found '{}'", f.where("torch_dtype"), hf::kComputeDtypeNames, dtype);
               }),
           K::field("attn_implementation", kModel, &ModelSection::attn_implementation,
                    "sdpa: LibTorch's fused scaled_dot_product_attention; eager: HF's eager attention (the "
                    "reference); flash_attention_2/3 and flex_attention run as sdpa"),
           K::field("device", kModel, &ModelSection::device, "auto (cuda when present), cpu, cuda or cuda:N"),
           K::no_effect("trust_remote_code", "no Python runs here; architectures are built in"),
           K::no_effect("force_hf", "the built-in implementation is the HF one"),
           K::no_effect("use_liger_kernel", kKernelChoice),
           K::no_effect("output_hidden_states", "training does not return hidden states")}};
}

// AutoModel sets the loader's batch size from local_batch_size; a different one is a mistake.
void check_batch_size(const JsonFields& f, RecipeConfig& c) {
  if (auto batch = f.get_optional_int("batch_size"))
    AM_CHECK(*batch == c.step_scheduler.local_batch_size, "[config] {} is {} but step_scheduler.local_batch_size "
             "is {}; batches hold local_batch_size rows (remove batch_size or make them equal)", f.where("batch_size"),
             *batch, c.step_scheduler.local_batch_size);
}

// collate_fn: {_target_: ..., option: ...}: the target is checked with the schema; the collate's own
// options (start_of_response_token, ...) are reported, not silently dropped.
RecipeKey::Reader collate_options_reader(std::string section) {
  return [section = std::move(section)](const JsonFields& f, RecipeConfig& c) {
    if (!f.has("collate_fn") || !f.raw("collate_fn").is_object()) return;
    for (const auto& [key, _] : f.raw("collate_fn").items())
      if (key != "_target_")
        c.ignored.push_back(fmt::format("accepted, no effect here: {}.collate_fn.{} (assistant turns are located "
                                        "through the chat template; padding follows the dataset's keys)",
                                        section, key));
  };
}

RecipeSection dataloader_section(bool validation) {
  auto shuffle = validation ? K::no_effect("shuffle", "validation reads the whole set in order")
                            : K::field("shuffle", &RecipeConfig::dataloader, &DataLoaderSection::shuffle,
                                       "shuffle rows each epoch, deterministically per (seed, epoch)");
  return {validation ? "validation_dataloader" : "dataloader",
          validation ? "How validation rows are batched (local_batch_size rows a batch, in order)."
                     : "How training rows are batched (local_batch_size rows a batch).",
          {K::checked("_target_", "string", "StatefulDataLoader", "torchdata's StatefulDataLoader or torch's DataLoader",
                      nullptr),
           K::checked("collate_fn", "string or mapping", "default_collater",
                      "AutoModel's default_collater, or a VLM collate ({_target_: default_collate_fn, ...})",
                      collate_options_reader(validation ? "validation_dataloader" : "dataloader")),
           std::move(shuffle),
           K::checked("batch_size", "integer", "local_batch_size", "must equal step_scheduler.local_batch_size",
                      check_batch_size),
           K::no_effect("num_workers", kLoaderWorkers), K::no_effect("pin_memory", kLoaderWorkers),
           K::no_effect("persistent_workers", kLoaderWorkers), K::no_effect("prefetch_factor", kLoaderWorkers),
           K::no_effect("drop_last", "training always drops a last partial batch, validation never does")}};
}

void read_preemption_signal(const JsonFields& f, RecipeConfig& c) {
  if (!f.has("preemption_signal")) return;
  static const std::map<std::string, int> kSignals = {
      {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}};
  if (f.raw("preemption_signal").is_number_integer()) {
    // A number beyond the signal range would be truncated into some other signal.
    auto number = f.get_int("preemption_signal");
    AM_CHECK(number >= 1 && number <= 64, "[config] {}: expected a signal number in [1, 64] or a name, found {}",
             f.where("preemption_signal"), number);
    c.step_scheduler.preemption_signal = static_cast<int>(number);
  } else {
    auto name = f.get_string("preemption_signal");
    auto it = kSignals.find(name.starts_with("SIG") ? name : "SIG" + name);
    AM_CHECK(it != kSignals.end(), "[config] {}: '{}' is not a signal; use SIGUSR1, SIGUSR2, SIGTERM or SIGINT",
             f.where("preemption_signal"), name);
    c.step_scheduler.preemption_signal = it->second;
  }
}

RecipeSection step_scheduler_section() {
  RecipeSection s{
      "step_scheduler",
      "Batch sizes and how long to train; gradient accumulation = global / (local x data-parallel size).",
      {K::field("global_batch_size", kSteps, &StepSchedulerSection::global_batch_size,
                "rows per optimizer step, over all data-parallel ranks"),
       K::field("local_batch_size", kSteps, &StepSchedulerSection::local_batch_size, "rows per micro-batch and rank"),
       K::field("num_epochs", kSteps, &StepSchedulerSection::num_epochs, "passes over the training data")
           .def("1, or unbounded when only max_steps is set"),
       K::field("max_steps", kSteps, &StepSchedulerSection::max_steps, "optimizer steps; -1: num_epochs over the data")
           .then([](const JsonFields& f, RecipeConfig& c) {
             // max_steps alone runs as many epochs as it takes.
             if (c.step_scheduler.max_steps > 0 && !f.has("num_epochs"))
               c.step_scheduler.num_epochs = std::numeric_limits<int32_t>::max();
           }),
       K::field("val_every_steps", kSteps, &StepSchedulerSection::val_every_steps,
                "validation loss every N steps (with a validation_dataset); -1: never"),
       K::field("ckpt_every_steps", kSteps, &StepSchedulerSection::ckpt_every_steps,
                "checkpoint every N steps; -1: at the end only"),
       K::field("grad_acc_steps", kSteps, &StepSchedulerSection::grad_acc_steps,
                "when set, must equal global / (local x data-parallel size): checked once the process count is known")
           .validated()
           .then([](const JsonFields& f, RecipeConfig& c) {
             const auto& steps = c.step_scheduler.grad_acc_steps;
             AM_CHECK(!steps || *steps > 0, "[config] {} must be > 0", f.where("grad_acc_steps"));
           }),
       K::field("preemption_signal", kSteps, &StepSchedulerSection::preemption_signal,
                "e.g. SIGUSR1: on that signal, checkpoint at the next step boundary and exit 0",
                read_preemption_signal)
           .type("signal name or number")
           .def("none")}};
  s.finish = [](const JsonFields& f, RecipeConfig& c) {
    const auto& s = c.step_scheduler;
    AM_CHECK(s.local_batch_size > 0 && s.global_batch_size > 0 && s.global_batch_size % s.local_batch_size == 0,
             "[config] {}: step_scheduler.global_batch_size ({}) must be a positive multiple of local_batch_size ({})",
             f.label(), s.global_batch_size, s.local_batch_size);
    AM_CHECK(s.num_epochs > 0 || s.max_steps > 0, "[config] {}: step_scheduler needs num_epochs > 0 or max_steps > 0",
             f.label());
  };
  return s;
}

RecipeSection optimizer_section() {
  const OptimizerSection defaults;
  return {
      "optimizer",
      "Adam or AdamW (the default), fp32 state.",
      {K::checked("_target_", "string", "torch.optim.AdamW", "torch.optim.AdamW or torch.optim.Adam",
                  [](const JsonFields& f, RecipeConfig& c) {
                    auto kind = f.has("_target_") ? resolve_target("optimizer", f.get_string("_target_"),
                                                                   f.where("_target_"))
                                                  : Component::kAdamW;
                    c.optimizer.decoupled_weight_decay = kind == Component::kAdamW;
                    if (kind == Component::kAdam) c.optimizer.weight_decay = 0.0;  // torch.optim.Adam's default
                  }),
       K::field("lr", kOpt, &OptimizerSection::lr, "peak learning rate").then([](const JsonFields& f, RecipeConfig& c) {
         AM_CHECK(std::isfinite(c.optimizer.lr) && c.optimizer.lr >= 0, "[config] {}: expected a finite learning rate "
                  ">= 0, found {}", f.where("lr"), c.optimizer.lr);
       }),
       K::field("weight_decay", kOpt, &OptimizerSection::weight_decay,
                "decoupled (AdamW) or added to the gradient (Adam)")
           .def("0.01 (AdamW), 0 (Adam)"),
       K::custom("betas", KeyUse::kEffect, "list of two numbers",
                 fmt::format("[{}, {}]", defaults.beta1, defaults.beta2), "[beta1, beta2]",
                 [](const JsonFields& f, RecipeConfig& c) {
                   if (!f.has("betas")) return;
                   auto betas = f.get_double_list("betas");
                   AM_CHECK(betas.size() == 2, "[config] {}: expected two values [beta1, beta2], found {}",
                            f.where("betas"), betas.size());
                   c.optimizer.beta1 = betas[0];
                   c.optimizer.beta2 = betas[1];
                 }),
       K::field("eps", kOpt, &OptimizerSection::eps, "added to the denominator")
           .then([](const JsonFields& f, RecipeConfig& c) {
             const auto& o = c.optimizer;
             AM_CHECK(std::isfinite(o.weight_decay) && std::isfinite(o.eps) && o.eps > 0, "[config] {}: weight_decay "
                      "must be finite and eps finite and > 0 (found {} and {})", f.where("eps"), o.weight_decay, o.eps);
           }),
       K::no_effect("foreach", kKernelChoice), K::no_effect("fused", kKernelChoice),
       K::checked("amsgrad", "bool", "false", "must be false (not supported)",
                  [](const JsonFields& f, RecipeConfig&) {
                    AM_CHECK(!f.get_bool("amsgrad", false), "[config] {}: amsgrad is not supported", f.where("amsgrad"));
                  }),
       K::checked("maximize", "bool", "false", "must be false: training minimizes the loss",
                  [](const JsonFields& f, RecipeConfig&) {
                    AM_CHECK(!f.get_bool("maximize", false), "[config] {}: maximize is not supported (training "
                             "minimizes the loss)", f.where("maximize"));
                  })}};
}

RecipeSection lr_scheduler_section() {
  return {"lr_scheduler",
          "The learning-rate schedule; without the section the rate is constant.",
          {K::field("lr_decay_style", kLr, &LrSchedulerSection::decay_style, "constant, linear, cosine or WSD")
               .then([](const JsonFields& f, RecipeConfig& c) {
                 const std::vector<std::string> styles = {"constant", "linear", "cosine", "WSD"};
                 AM_CHECK(std::find(styles.begin(), styles.end(), c.lr_scheduler.decay_style) != styles.end(),
                          "[config] {}: '{}' is not a decay style; supported: {}", f.where("lr_decay_style"),
                          c.lr_scheduler.decay_style, join(styles, ", "));
               }),
           K::field("lr_warmup_steps", kLr, &LrSchedulerSection::warmup_steps,
                    "linear warmup from init_lr to optimizer.lr")
               .def("min(1000, total steps / 10)"),
           K::field("lr_decay_steps", kLr, &LrSchedulerSection::decay_steps, "the step the decay ends at")
               .def("total steps"),
           K::field("min_lr", kLr, &LrSchedulerSection::min_lr, "the rate after the decay").def("0.01 x lr"),
           K::field("init_lr", kLr, &LrSchedulerSection::init_lr, "the rate warmup starts from"),
           K::field("wsd_decay_steps", kLr, &LrSchedulerSection::wsd_decay_steps, "WSD: the decay's length")
               .def("(decay - warmup) / 10"),
           K::field("lr_wsd_decay_style", kLr, &LrSchedulerSection::wsd_decay_style, "WSD: linear or cosine decay")}};
}

RecipeSection loss_section() {
  return {"loss_fn",
          "MaskedCrossEntropy or ChunkedCrossEntropy: both computed chunked (same value, less memory), summed over "
          "tokens and divided by the optimizer step's label tokens.",
          {K::checked("_target_", "string", "MaskedCrossEntropy",
                      "MaskedCrossEntropy, ChunkedCrossEntropy or FusedLinearCrossEntropy",
                      target_check<RecipeConfig>("loss_fn")),
           K::no_effect("fp32_upcast", "the loss is always computed in fp32"),
           K::checked("ignore_index", "integer", "-100", "the label of tokens outside the loss; only -100",
                      [](const JsonFields& f, RecipeConfig&) {
                        AM_CHECK(f.get_int("ignore_index", -100) == -100, "[config] {}: only -100 is supported",
                                 f.where("ignore_index"));
                      }),
           // AutoModel's loop divides summed token losses by the step's label tokens, which needs "sum".
           K::checked("reduction", "string", "sum", "only sum",
                      [](const JsonFields& f, RecipeConfig&) {
                        if (!f.has("reduction")) return;
                        auto reduction = f.get_string("reduction");
                        AM_CHECK(reduction == "sum", "[config] {}: expected sum (the loss is summed over tokens and "
                                 "divided by the optimizer step's label tokens), found '{}'", f.where("reduction"),
                                 reduction);
                      }),
           K::field("chunk_len", kLoss, &LossSection::chunk_len,
                    "tokens per chunk; 0: automatic, about 64 MiB of fp32 logits per chunk")
               .then([](const JsonFields& f, RecipeConfig& c) {
                 AM_CHECK(c.loss.chunk_len >= 0, "[config] {} must be >= 0 (0 = automatic)", f.where("chunk_len"));
               })}};
}

RecipeSection peft_section() {
  return {
      "peft",
      "LoRA; without the section the whole model is fine-tuned.",
      {K::checked("_target_", "string", "PeftConfig", "AutoModel's PeftConfig (LoRA)", target_check<RecipeConfig>("peft")),
       K::field("target_modules", kPeft, &PeftSection::target_modules,
                "globs on full module names; a plain name matches the last component",
                [](const JsonFields& f, RecipeConfig& c) { c.peft.target_modules = string_or_list(f, "target_modules"); })
           .type("string or list of strings")
           .def("`[\"*_proj\"]` unless match_all_linear or exclude_modules (then, as AutoModel, every linear layer "
                "not excluded)"),
       K::field("exclude_modules", kPeft, &PeftSection::exclude_modules, "globs of modules left without LoRA",
                [](const JsonFields& f, RecipeConfig& c) { c.peft.exclude_modules = string_or_list(f, "exclude_modules"); })
           .type("string or list of strings"),
       K::field("match_all_linear", kPeft, &PeftSection::match_all_linear, "LoRA on every linear layer but the head")
           .then([](const JsonFields&, RecipeConfig& c) {
             // AutoModel: nothing named means *_proj; exclude_modules alone means every linear layer but those.
             if (c.peft.target_modules.empty() && c.peft.exclude_modules.empty() && !c.peft.match_all_linear)
               c.peft.target_modules = {"*_proj"};
           }),
       K::field("dim", kPeft, &PeftSection::dim, "the LoRA rank (adapter_config.json's r)")
           .then([](const JsonFields& f, RecipeConfig& c) {
             AM_CHECK(c.peft.dim > 0, "[config] {} must be > 0", f.where("dim"));
           }),
       K::field("alpha", kPeft, &PeftSection::alpha, "scale = alpha / dim"),
       K::field("dropout", kPeft, &PeftSection::dropout, "dropout on the LoRA branch, in [0, 1)")
           .then([](const JsonFields& f, RecipeConfig& c) {
             AM_CHECK(c.peft.dropout >= 0 && c.peft.dropout < 1, "[config] {} must be in [0, 1)", f.where("dropout"));
           }),
       K::field("dropout_position", kPeft, &PeftSection::dropout_position,
                "pre: on the LoRA input; post: on its output")
           .then([](const JsonFields& f, RecipeConfig& c) {
             AM_CHECK(c.peft.dropout_position == "pre" || c.peft.dropout_position == "post",
                      "[config] {}: expected pre or post, found '{}'", f.where("dropout_position"),
                      c.peft.dropout_position);
           }),
       K::field("lora_A_init", kPeft, &PeftSection::lora_A_init, "xavier or kaiming")
           .then([](const JsonFields& f, RecipeConfig& c) {
             AM_CHECK(c.peft.lora_A_init == "xavier" || c.peft.lora_A_init == "kaiming",
                      "[config] {}: expected xavier or kaiming, found '{}'", f.where("lora_A_init"),
                      c.peft.lora_A_init);
           }),
       K::no_effect("use_triton", kKernelChoice),
       K::checked("use_dora", "bool", "false", "must be false (DoRA is not supported yet)",
                  [](const JsonFields& f, RecipeConfig&) {
                    AM_CHECK(!f.get_bool("use_dora", false), "[config] {}: DoRA is not supported yet",
                             f.where("use_dora"));
                  }),
       K::no_effect("lora_dtype", "LoRA weights are trained in fp32 (the master weights' dtype)"),
       K::no_effect("use_memory_efficient_lora", kKernelChoice),
       K::no_effect("peft_fn", "LoRA layers are applied by this build")}};
}

// As AutoModel: true / "every" = every checkpoint, "final" = the last one, false = none.
void read_save_consolidated(const JsonFields& f, RecipeConfig& c) {
  if (!f.has("save_consolidated")) return;
  const auto& v = f.raw("save_consolidated");
  std::string mode = v.is_boolean() ? (v.get<bool>() ? "every" : "false") : f.get_string("save_consolidated");
  AM_CHECK(mode == "every" || mode == "true" || mode == "final" || mode == "false", "[config] {}: expected true, "
           "false, final or every, found '{}'", f.where("save_consolidated"), mode);
  c.checkpoint.save_consolidated = mode == "final"   ? ConsolidatedSaves::kFinal
                                   : mode == "false" ? ConsolidatedSaves::kNever
                                                     : ConsolidatedSaves::kEvery;
}

RecipeSection checkpoint_section() {
  return {
      "checkpoint",
      "Checkpoints in checkpoint_dir/epoch_E_step_S/ (HF safetensors or a PEFT adapter, optimizer, data and RNG "
      "state), LATEST pointing at the newest.",
      {K::field("enabled", kCkpt, &CheckpointSection::enabled, "write checkpoints"),
       K::field("checkpoint_dir", kCkpt, &CheckpointSection::checkpoint_dir, "where checkpoints go"),
       K::checked("model_save_format", "string", "safetensors",
                  "safetensors; torch_save is accepted and saved as safetensors (noted at start)",
                  [](const JsonFields& f, RecipeConfig& c) {
                    auto format = f.get_string("model_save_format", "safetensors");
                    AM_CHECK(format == "safetensors" || format == "torch_save", "[config] {}: expected safetensors or "
                             "torch_save, found '{}'", f.where("model_save_format"), format);
                    // torch_save is PyTorch's own (DCP) format; checkpoints here are always HF safetensors.
                    if (format == "torch_save")
                      c.ignored.push_back("accepted, no effect here: checkpoint.model_save_format: torch_save (saved "
                                          "as safetensors)");
                  }),
       K::field("save_consolidated", kCkpt, &CheckpointSection::save_consolidated,
                "a complete HF folder in model/consolidated/: at every checkpoint (true / every), at the last one "
                "(final) or never (false; `automodel consolidate` writes it later)",
                read_save_consolidated)
           .type("bool or string")
           .def("final"),
       K::field("restore_from", kCkpt, &CheckpointSection::restore_from,
                "a checkpoint folder or LATEST; default: resume from LATEST in checkpoint_dir when there is one"),
       K::no_effect("dequantize_base_checkpoint", "FP8 base weights are always dequantized on load"),
       K::no_effect("model_cache_dir", "models are read from their folder or the HF cache"),
       K::no_effect("model_repo_id", "checkpoints name their base model in config.yaml"),
       K::no_effect("is_peft", "follows the peft section")}};
}

RecipeSection freeze_section() {
  constexpr auto kFreeze = &RecipeConfig::freeze;
  return {"freeze_config",
          "FinetuneRecipeForVLM: which parts stay frozen (LoRA trains its adapters whatever this says).",
          {K::field("freeze_embeddings", kFreeze, &FreezeSection::embeddings,
                    "the token embeddings and the vision tower's position embeddings (a tied head with them)"),
           K::field("freeze_vision_tower", kFreeze, &FreezeSection::vision_tower,
                    "the vision encoder; the projector stays trainable"),
           K::field("freeze_language_model", kFreeze, &FreezeSection::language_model,
                    "the language model (its head too)"),
           K::checked("freeze_audio_tower", "bool", "false", "models here have no audio tower",
                      [](const JsonFields& f, RecipeConfig&) {
                        AM_CHECK(!f.get_bool("freeze_audio_tower", false), "[config] {}: no model here has an audio "
                                 "tower", f.where("freeze_audio_tower"));
                      })}};
}

void check_pixel_budget(const JsonFields& f, RecipeConfig& c) {
  const auto& p = c.processor;
  for (const auto& [key, value] : {std::pair{"min_pixels", p.min_pixels}, std::pair{"max_pixels", p.max_pixels}})
    AM_CHECK(!value || *value > 0, "[config] {} must be > 0, found {}", f.where(key), value.value_or(0));
  AM_CHECK(!p.min_pixels || !p.max_pixels || *p.min_pixels <= *p.max_pixels,
           "[config] {}: min_pixels {} is above max_pixels {}", f.where("min_pixels"), p.min_pixels.value_or(0),
           p.max_pixels.value_or(0));
}

RecipeSection processor_section() {
  return {"processor",
          "FinetuneRecipeForVLM: the HF processor (image processor and chat template); default: the model's folder.",
          {K::checked("_target_", "string", "AutoProcessor.from_pretrained", "transformers' AutoProcessor",
                      target_check<RecipeConfig>("processor")),
           K::field("pretrained_model_name_or_path", &RecipeConfig::processor, &ProcessorSection::name_or_path,
                    "a folder (or hub id) with preprocessor_config.json and the chat template"),
           K::field("min_pixels", &RecipeConfig::processor, &ProcessorSection::min_pixels,
                    "patch processors (Qwen2-VL): images are resized to at least this many pixels")
               .then(check_pixel_budget),
           K::field("max_pixels", &RecipeConfig::processor, &ProcessorSection::max_pixels,
                    "patch processors (Qwen2-VL): images are resized to at most this many pixels")
               .then(check_pixel_budget)}};
}

}  // namespace

const std::vector<RecipeSection>& training_sections() {
  static const std::vector<RecipeSection> sections = {
      model_section(),     dataloader_section(false), dataloader_section(true), step_scheduler_section(),
      optimizer_section(), lr_scheduler_section(),    loss_section(),           peft_section(),
      checkpoint_section(), freeze_section(),        processor_section()};
  return sections;
}

}  // namespace automodel::config
