#include "automodel/config/schema.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::config {
namespace {

// Keys each section accepts. Keys AutoModel has but which change nothing here (kernel choices
// such as use_triton) are accepted and documented in docs/recipes.md.
// An entry "*" accepts any key (free-form sections such as `ci`).
const std::map<std::string, std::vector<std::string>>& section_keys() {
  static const std::vector<std::string> kDataset = {
      "_target_", "path_or_dataset_id", "path_or_dataset", "dataset_name", "data_files", "split",
      "column_mapping", "seq_length", "answer_only_loss_mask", "padding", "truncation", "chat_template",
      "limit_dataset_samples", "num_samples_limit", "skip_invalid_samples", "tokenizer", "text_column",
      "vocab_size", "seq_len", "num_samples", "batch_size", "seed", "start_of_turn_token", "pad_seq_len_divisible"};
  static const std::vector<std::string> kDataloader = {"_target_", "collate_fn", "shuffle", "batch_size",
                                                       "num_workers", "drop_last", "pin_memory",
                                                       "persistent_workers", "prefetch_factor"};
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"recipe", {}},
      {"seed", {}},
      {"model",
       {"_target_", "pretrained_model_name_or_path", "torch_dtype", "trust_remote_code", "attn_implementation",
        "force_hf", "use_liger_kernel", "revision", "device", "output_hidden_states"}},
      {"dataset", kDataset},
      {"validation_dataset", kDataset},
      {"dataloader", kDataloader},
      {"validation_dataloader", kDataloader},
      {"step_scheduler",
       {"global_batch_size", "local_batch_size", "num_epochs", "max_steps", "val_every_steps", "ckpt_every_steps",
        "grad_acc_steps", "preemption_signal"}},
      {"optimizer", {"_target_", "lr", "weight_decay", "betas", "eps", "foreach", "fused", "amsgrad", "maximize"}},
      {"lr_scheduler",
       {"lr_decay_style", "lr_warmup_steps", "lr_decay_steps", "min_lr", "init_lr", "wsd_decay_steps",
        "lr_wsd_decay_style"}},
      {"loss_fn", {"_target_", "fp32_upcast", "ignore_index", "reduction", "chunk_len"}},
      {"peft",
       {"_target_", "target_modules", "exclude_modules", "match_all_linear", "dim", "alpha", "dropout",
        "dropout_position", "lora_A_init", "use_triton", "use_dora", "lora_dtype", "use_memory_efficient_lora",
        "peft_fn"}},
      {"checkpoint",
       {"enabled", "checkpoint_dir", "model_save_format", "save_consolidated", "restore_from",
        "dequantize_base_checkpoint", "model_cache_dir", "model_repo_id", "is_peft"}},
      {"distributed",
       {"_target_", "strategy", "dp_size", "dp_replicate_size", "tp_size", "pp_size", "cp_size", "ep_size",
        "sequence_parallel", "activation_checkpointing", "bucket_cap_mb", "reshard_after_forward"}},
      {"dist_env", {"backend", "timeout_minutes"}},
      {"packed_sequence", {"packed_sequence_size", "split_across_pack"}},
      {"rng", {"_target_", "seed", "ranked"}},
      {"clip_grad_norm", {"max_norm"}},
      {"distributed_config",  // AutoModel's newer split: strategy options beside `distributed`
       {"_target_", "sequence_parallel", "activation_checkpointing", "activation_checkpointing_scope",
        "reshard_after_forward", "tp_plan", "patch_is_packed_sequence", "mp_policy", "offload_policy",
        "autocast_dtype", "defer_fsdp_grad_sync", "enable_async_tensor_parallel", "enable_compile",
        "enable_fsdp2_prefetch", "fsdp2_backward_prefetch_depth", "fsdp2_forward_prefetch_depth",
        "find_unused_parameters", "bucket_cap_mb", "backend"}},
      // Informational or performance-only sections: any keys (the ones used are read by name).
      {"benchmark", {"*"}},
      {"compile", {"*"}},
      {"ci", {"*"}},
  };
  return keys;
}

// Integrations that do not change what is trained (experiment loggers, launchers): accepted
// with any content and ignored, with a note.
const std::set<std::string>& integration_sections() {
  static const std::set<std::string> names = {"wandb", "mlflow", "tensorboard", "comet", "slurm", "skypilot",
                                              "lepton", "nemo_run", "k8s", "kubernetes", "profiling", "nsys"};
  return names;
}

// Features AutoModel has and this build does not: fine while disabled, an error when enabled.
const std::set<std::string>& unsupported_feature_sections() {
  static const std::set<std::string> names = {"fp8", "qat", "quantization", "kd", "kd_loss_fn", "teacher_model"};
  return names;
}

// Nested maps whose keys are free-form (column names, tokenizer options).
bool free_form(const std::string& section, const std::string& key) {
  return key == "column_mapping" || key == "tokenizer" || section == "ci";
}

std::vector<std::string> names_of(const std::map<std::string, std::vector<std::string>>& m) {
  std::vector<std::string> out;
  for (const auto& [k, _] : m) out.push_back(k);
  return out;
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates) {
  auto nearest = nearest_name(name, candidates);
  return nearest.empty() ? "" : fmt::format(" (did you mean '{}'?)", nearest);
}

}  // namespace

const std::vector<TargetEntry>& target_table() {
  static const std::vector<TargetEntry> table = {
      {"nemo_automodel.NeMoAutoModelForCausalLM.from_pretrained", "model", Component::kCausalLM},
      {"nemo_automodel._transformers.NeMoAutoModelForCausalLM.from_pretrained", "model", Component::kCausalLM},
      {"transformers.AutoModelForCausalLM.from_pretrained", "model", Component::kCausalLM},
      {"nemo_automodel.components._peft.lora.PeftConfig", "peft", Component::kLora},
      {"nemo_automodel.components.loss.masked_ce.MaskedCrossEntropy", "loss_fn", Component::kMaskedCrossEntropy},
      {"nemo_automodel.components.loss.chunked_ce.ChunkedCrossEntropy", "loss_fn", Component::kChunkedCrossEntropy},
      {"nemo_automodel.components.loss.linear_ce.FusedLinearCrossEntropy", "loss_fn",
       Component::kChunkedCrossEntropy},
      {"torch.optim.Adam", "optimizer", Component::kAdam},
      {"torch.optim.AdamW", "optimizer", Component::kAdamW},
      {"nemo_automodel.components.datasets.llm.column_mapped_text_instruction_dataset."
       "ColumnMappedTextInstructionDataset",
       "dataset", Component::kColumnMappedDataset},
      {"nemo_automodel.components.datasets.llm.chat_dataset.ChatDataset", "dataset", Component::kChatDataset},
      {"nemo_automodel.components.datasets.llm.squad.make_squad_dataset", "dataset", Component::kSquadDataset},
      {"nemo_automodel.components.datasets.llm.hellaswag.HellaSwag", "dataset", Component::kHellaSwagDataset},
      {"nemo_automodel.components.datasets.llm.mock_iterable_dataset.MockIterableDataset", "dataset",
       Component::kMockDataset},
      {"automodel.data.TextDataset", "dataset", Component::kTextDataset},
      {"nemo_automodel.components.datasets.utils.default_collater", "collate_fn", Component::kCollater},
      {"torchdata.stateful_dataloader.StatefulDataLoader", "dataloader", Component::kDataLoader},
      {"torch.utils.data.DataLoader", "dataloader", Component::kDataLoader},
      {"nemo_automodel.components.distributed.fsdp2.FSDP2Manager", "distributed", Component::kFsdp2},
      {"nemo_automodel.components.distributed.ddp.DDPManager", "distributed", Component::kDdp},
      {"nemo_automodel.components.distributed.config.FSDP2Config", "distributed_config", Component::kFsdp2},
      {"nemo_automodel.components.distributed.config.DDPConfig", "distributed_config", Component::kDdp},
      {"nemo_automodel.components.training.rng.StatefulRNG", "rng", Component::kStatefulRng},
  };
  return table;
}

Component resolve_target(const std::string& section, const std::string& name, const std::string& where) {
  std::string kind = section == "validation_dataset" ? "dataset" : section == "validation_dataloader" ? "dataloader"
                                                                                                      : section;
  std::vector<std::string> valid;
  for (const auto& entry : target_table()) {
    if (entry.section != kind) continue;
    valid.push_back(entry.name);
    auto last = entry.name.substr(entry.name.rfind('.') + 1);
    if (entry.name == name || last == name) return entry.component;
  }
  AM_FAIL("[config] {}: unknown _target_ '{}'{}; supported here: {}", where, name, did_you_mean(name, valid),
          join(valid, ", "));
}

std::vector<std::string> validate_schema(const nlohmann::json& tree, const std::string& label) {
  const auto& sections = section_keys();
  std::vector<std::string> ignored;
  // The model section first: an unsupported model kind is the error that matters most.
  std::vector<std::string> order;
  if (tree.contains("model")) order.push_back("model");
  for (const auto& [section, _] : tree.items())
    if (section != "model") order.push_back(section);
  for (const auto& section : order) {
    const auto& body = tree[section];
    if (integration_sections().count(section)) {
      ignored.push_back(fmt::format("section '{}' (integrations are not part of this build)", section));
      continue;
    }
    if (unsupported_feature_sections().count(section)) {
      bool enabled = body.is_object() && body.contains("enabled") ? body["enabled"] == true
                                                                   : body.is_object() && !body.empty();
      AM_CHECK(!enabled, "[config] {}: '{}' is not supported by this build; remove the section or set {}.enabled: "
               "false", label, section, section);
      continue;
    }
    auto it = sections.find(section);
    if (it == sections.end()) {
      // A near miss of a known name is a typo (an error); anything else is a section of a newer
      // AutoModel that this build does not read: ignored, and said so.
      AM_CHECK(nearest_name(section, names_of(sections)).empty(), "[config] {}: unknown section '{}'{}; sections: {}",
               label, section, did_you_mean(section, names_of(sections)), join(names_of(sections), ", "));
      ignored.push_back(fmt::format("section '{}' (unknown here)", section));
      continue;
    }
    const auto& keys = it->second;
    if (keys.empty()) {
      AM_CHECK(!body.is_object(), "[config] {}: '{}' takes a value, not a section", label, section);
      continue;
    }
    if (body.is_null()) continue;
    AM_CHECK(body.is_object(), "[config] {}: '{}' must be a section (a mapping), found {}", label, section,
             body.type_name());
    if (keys.front() == "*") continue;
    for (const auto& [key, value] : body.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        AM_CHECK(nearest_name(key, keys).empty(), "[config] {}: unknown key '{}.{}'{}; valid keys of '{}': {}", label,
                 section, key, did_you_mean(key, keys), section, join(keys, ", "));
        ignored.push_back(fmt::format("'{}.{}' (unknown here)", section, key));
        continue;
      }
      if (key == "_target_") {
        AM_CHECK(value.is_string(), "[config] {}: '{}._target_' must be a string", label, section);
        resolve_target(section, value.get<std::string>(), label + ": " + section + "._target_");
      }
      if (key == "collate_fn" && value.is_string())
        resolve_target("collate_fn", value.get<std::string>(), label + ": " + section + ".collate_fn");
      if (value.is_object() && !free_form(section, key) && value.contains("_target_"))
        resolve_target(key, value["_target_"].get<std::string>(), label + ": " + section + "." + key + "._target_");
    }
  }
  return ignored;
}

}  // namespace automodel::config
