// A fine-tuning recipe as typed sections (AutoModel's YAML schema, DESIGN.md §5). The field
// initialisers are AutoModel's defaults, the one place they are written: the key declarations
// (section_keys.h) read them for the docs, and the parser assigns only what a recipe sets.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "automodel/config/overrides.h"
#include "automodel/config/schema.h"
#include "automodel/config/tracker_sections.h"

namespace automodel::config {

struct ModelSection {
  std::string name_or_path;
  std::string revision = "main";     // hub branch, tag or commit of a model named by hub id
  std::string torch_dtype = "auto";  // compute dtype: auto (fp32 on CPU, bf16 on CUDA), fp32, bf16
  std::string device = "auto";       // auto (cuda when present), cpu, cuda, cuda:N
  std::string attn_implementation = "sdpa";  // HF's names: sdpa (fused) or eager (the reference)
  bool image_text_to_text = false;           // _target_ is a VLM loader (AutoModelForImageTextToText)
};

// freeze_config (VLM fine-tuning): parts left untrained. As AutoModel, without the section the
// embeddings are still frozen.
struct FreezeSection {
  bool embeddings = true;       // every embedding table (token, vision position)
  bool vision_tower = true;     // the vision encoder (and anything named vision/visual)
  bool language_model = false;  // the language model (then the projector trains alone)
};

// processor (VLM fine-tuning): where the image processor and chat template are read.
struct ProcessorSection {
  std::string name_or_path;  // default: the model's folder
  // The pixel budget of patch processors (Qwen2-VL: AutoProcessor's min_pixels / max_pixels).
  std::optional<int64_t> min_pixels, max_pixels;
};

struct DatasetSection {
  Component kind = Component::kChatDataset;
  std::string label;  // "dataset" or "validation_dataset", for messages
  std::string path;   // local file (json, jsonl, csv, parquet) or folder, or a hub dataset id
  std::string split;
  std::map<std::string, std::string> column_mapping;  // our role -> the file's column name
  int64_t seq_length = 0;                             // 0 = no limit besides packing
  // truncation: true / longest_first / only_first cut a row to seq_length (else the tokenizer's
  // model_max_length) on the tokenizer's truncation_side, as HF tokenizers do; off by default.
  bool truncation = false;
  // padding: max_length pads every batch to seq_length (the packing size when packing); longest
  // / do_not_pad / true / false pad to the longest row of the batch, as AutoModel's collater.
  bool pad_to_max_length = false;
  int64_t pad_to_multiple_of = 1;  // pad_seq_len_divisible
  bool use_hf_chat_template = false;  // column-mapped rows through the tokenizer's chat template
  bool answer_only_loss_mask = true;
  std::string chat_template;  // overrides the tokenizer's template
  std::string tokenizer;      // tokenizer folder; default: the model's
  int64_t limit_samples = -1;
  bool skip_invalid_samples = false;
  std::string text_column = "text";
  // Mock dataset (benchmarks): random token rows.
  int64_t mock_vocab_size = 100, mock_seq_len = 512, mock_num_samples = 1000;
  uint64_t seed = 0;
};

struct DataLoaderSection {
  bool shuffle = false;
};

struct StepSchedulerSection {
  int64_t global_batch_size = 32, local_batch_size = 1;
  int64_t num_epochs = 1;
  int64_t max_steps = -1;  // -1: num_epochs over the data
  int64_t val_every_steps = -1, ckpt_every_steps = -1;
  int preemption_signal = 0;  // e.g. SIGUSR1: checkpoint at the next step boundary and exit
  // When set, must equal global / (local x data-parallel size): checked once the process count is known.
  std::optional<int64_t> grad_acc_steps;
};

struct OptimizerSection {
  bool decoupled_weight_decay = true;  // AdamW; Adam adds weight decay to the gradient
  // torch.optim.AdamW's weight decay (Adam's is 0: set when the recipe picks Adam).
  double lr = 1e-5, weight_decay = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

struct LrSchedulerSection {
  bool enabled = false;  // no section: constant lr
  std::string decay_style = "cosine";  // constant, linear, cosine, WSD
  int64_t warmup_steps = -1;           // -1: min(1000, total/10)
  int64_t decay_steps = -1;            // -1: total steps
  double min_lr = -1;                  // -1: 0.01 x lr
  double init_lr = 0.0;
  int64_t wsd_decay_steps = -1;
  std::string wsd_decay_style = "linear";
};

// MaskedCrossEntropy and ChunkedCrossEntropy are both computed chunked: same value, less memory.
struct LossSection {
  int64_t chunk_len = 0;  // tokens per chunk; 0 = about 64 MiB of fp32 logits
};

struct PeftSection {
  bool enabled = false;
  std::vector<std::string> target_modules;  // globs on full module names
  std::vector<std::string> exclude_modules;
  bool match_all_linear = false;
  int64_t dim = 8;
  double alpha = 32;
  double dropout = 0.0;
  std::string dropout_position = "post";  // pre | post
  std::string lora_A_init = "xavier";     // xavier | kaiming
};

// When a checkpoint also gets model/consolidated/, a complete HF folder (LoRA merged). As
// AutoModel: true / "every" = every checkpoint, "final" = the last one, false = none (then
// `automodel consolidate` writes it later).
enum class ConsolidatedSaves { kNever, kFinal, kEvery };

struct CheckpointSection {
  bool enabled = true;
  std::string checkpoint_dir = "checkpoints/";
  ConsolidatedSaves save_consolidated = ConsolidatedSaves::kFinal;
  std::string restore_from;       // a checkpoint folder, "LATEST", or "" = auto-resume from LATEST
};

struct RecipeConfig {
  std::string label;     // the recipe file
  std::string recipe;    // AutoModel's recipe class (recipes/registry.h); "" = LLM fine-tuning
  bool vlm() const;      // FinetuneRecipeForVLM
  nlohmann::json tree;   // after overrides, for config.yaml in checkpoints
  // "accepted, no effect here: KEY (reason)" and unknown options, logged once at start.
  std::vector<std::string> ignored;
  ModelSection model;
  DatasetSection dataset;
  std::optional<DatasetSection> validation_dataset;
  DataLoaderSection dataloader;
  StepSchedulerSection step_scheduler;
  OptimizerSection optimizer;
  LrSchedulerSection lr_scheduler;
  LossSection loss;
  PeftSection peft;
  CheckpointSection checkpoint;
  FreezeSection freeze;
  ProcessorSection processor;
  int64_t packed_sequence_size = 0;  // 0 = no packing
  double max_grad_norm = 1.0;
  bool activation_checkpointing = false;  // distributed(_config).activation_checkpointing
  bool reshard_after_forward = true;      // distributed(_config).reshard_after_forward (fsdp2)
  std::string strategy = "fsdp2";         // distributed.strategy: ddp | fsdp2
  double bucket_cap_mb = 25;              // distributed.bucket_cap_mb (DDP)
  std::optional<int64_t> dp_size;         // distributed.dp_size; unset/none = the process count
  double timeout_minutes = 30;            // dist_env.timeout_minutes
  uint64_t seed = 42;
  double peak_tflops = 0;  // for MFU; 0 = look up the device
  std::optional<TensorBoardSection> tensorboard;  // experiment trackers: on when the section is present
  std::optional<MlflowSection> mlflow;
  std::optional<WandbSection> wandb;
};

RecipeConfig parse_recipe(nlohmann::json tree, const std::string& label);
// Loads YAML, applies overrides then ${ENV}, validates and types it.
RecipeConfig load_recipe(const std::filesystem::path& path, const std::vector<Override>& overrides);

}  // namespace automodel::config
