#include "automodel/config/schema.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::config {
namespace {

KeySpec effect(std::string name) { return {std::move(name), KeyUse::kEffect, ""}; }
KeySpec validated(std::string name) { return {std::move(name), KeyUse::kValidated, ""}; }
KeySpec no_effect(std::string name, std::string reason) { return {std::move(name), KeyUse::kNoEffect, std::move(reason)}; }

constexpr const char* kKernelChoice = "a kernel choice; this build has its own kernels";
constexpr const char* kLoaderWorkers = "rows are tokenized up front on every core and batches built in memory";

}  // namespace

// Keys each section accepts and what each does here. A key read only in some setups (the mock
// dataset's vocab_size, ...) is reported as having no effect when a recipe sets it elsewhere.
// A section whose only entry is "*" takes any key (informational sections).
const std::map<std::string, std::vector<KeySpec>>& recipe_keys() {
  static const std::vector<KeySpec> kDataset = {
      validated("_target_"), effect("path_or_dataset_id"), effect("path_or_dataset"), effect("dataset_name"),
      effect("data_files"), effect("split"), effect("column_mapping"), effect("seq_length"),
      effect("answer_only_loss_mask"), effect("padding"), effect("truncation"), effect("chat_template"),
      effect("use_hf_chat_template"), effect("limit_dataset_samples"), effect("num_samples_limit"),
      effect("skip_invalid_samples"), effect("tokenizer"), effect("text_column"), effect("vocab_size"),
      effect("seq_len"), effect("num_samples"), effect("seed"), effect("pad_seq_len_divisible"),
      no_effect("batch_size", "the mock dataset yields rows; batches follow step_scheduler.local_batch_size"),
      no_effect("start_of_turn_token", "assistant turns are located through the chat template")};
  auto dataloader = [](KeySpec shuffle) {
    return std::vector<KeySpec>{
        validated("_target_"), validated("collate_fn"), std::move(shuffle), validated("batch_size"),
        no_effect("num_workers", kLoaderWorkers), no_effect("pin_memory", kLoaderWorkers),
        no_effect("persistent_workers", kLoaderWorkers), no_effect("prefetch_factor", kLoaderWorkers),
        no_effect("drop_last", "training always drops a last partial batch, validation never does")};
  };
  static const std::map<std::string, std::vector<KeySpec>> keys = {
      {"recipe", {no_effect("recipe", "this binary runs AutoModel's LLM fine-tuning recipe")}},
      {"seed", {effect("seed")}},
      {"model",
       {validated("_target_"), effect("pretrained_model_name_or_path"), effect("revision"), effect("torch_dtype"),
        effect("attn_implementation"), effect("device"),
        no_effect("trust_remote_code", "no Python runs here; architectures are built in"),
        no_effect("force_hf", "the built-in implementation is the HF one"),
        no_effect("use_liger_kernel", kKernelChoice),
        no_effect("output_hidden_states", "training does not return hidden states")}},
      {"dataset", kDataset},
      {"validation_dataset", kDataset},
      {"dataloader", dataloader(effect("shuffle"))},
      {"validation_dataloader", dataloader(no_effect("shuffle", "validation reads the whole set in order"))},
      {"step_scheduler",
       {effect("global_batch_size"), effect("local_batch_size"), effect("num_epochs"), effect("max_steps"),
        effect("val_every_steps"), effect("ckpt_every_steps"), validated("grad_acc_steps"),
        effect("preemption_signal")}},
      {"optimizer",
       {validated("_target_"), effect("lr"), effect("weight_decay"), effect("betas"), effect("eps"),
        no_effect("foreach", kKernelChoice), no_effect("fused", kKernelChoice), validated("amsgrad"),
        validated("maximize")}},
      {"lr_scheduler",
       {effect("lr_decay_style"), effect("lr_warmup_steps"), effect("lr_decay_steps"), effect("min_lr"),
        effect("init_lr"), effect("wsd_decay_steps"), effect("lr_wsd_decay_style")}},
      {"loss_fn",
       {validated("_target_"), no_effect("fp32_upcast", "the loss is always computed in fp32"),
        validated("ignore_index"), validated("reduction"), effect("chunk_len")}},
      {"peft",
       {validated("_target_"), effect("target_modules"), effect("exclude_modules"), effect("match_all_linear"),
        effect("dim"), effect("alpha"), effect("dropout"), effect("dropout_position"), effect("lora_A_init"),
        no_effect("use_triton", kKernelChoice), validated("use_dora"),
        no_effect("lora_dtype", "LoRA weights are trained in fp32 (the master weights' dtype)"),
        no_effect("use_memory_efficient_lora", kKernelChoice),
        no_effect("peft_fn", "LoRA layers are applied by this build")}},
      {"checkpoint",
       {effect("enabled"), effect("checkpoint_dir"), validated("model_save_format"), effect("save_consolidated"),
        effect("restore_from"), no_effect("dequantize_base_checkpoint", "FP8 base weights are always dequantized on load"),
        no_effect("model_cache_dir", "models are read from their folder or the HF cache"),
        no_effect("model_repo_id", "checkpoints name their base model in config.yaml"),
        no_effect("is_peft", "follows the peft section")}},
      {"distributed",
       {effect("_target_"), effect("strategy"), validated("dp_size"), validated("dp_replicate_size"),
        validated("tp_size"), validated("pp_size"), validated("cp_size"), validated("ep_size"),
        validated("sequence_parallel"), effect("activation_checkpointing"), effect("bucket_cap_mb"),
        effect("reshard_after_forward")}},
      {"dist_env",
       {no_effect("backend", "the backend follows the device: NCCL on GPUs, Gloo on CPUs"),
        effect("timeout_minutes")}},
      {"packed_sequence",
       {effect("packed_sequence_size"),
        no_effect("split_across_pack", "AutoModel 0.7 ignores it too: documents are never split")}},
      {"rng",
       {validated("_target_"), effect("seed"),
        no_effect("ranked", "every rank draws from the same seeded generators, as its data shard differs")}},
      {"clip_grad_norm", {effect("max_norm")}},
      {"distributed_config",  // AutoModel's newer split: strategy options beside `distributed`
       {effect("_target_"), validated("sequence_parallel"), effect("activation_checkpointing"),
        no_effect("activation_checkpointing_scope", "checkpointing recomputes whole layers"),
        effect("reshard_after_forward"), no_effect("tp_plan", "tensor parallelism is not supported yet"),
        no_effect("patch_is_packed_sequence", "packed rows always attend within their documents"),
        no_effect("mp_policy", "the compute dtype is model.torch_dtype; weights and optimizer state stay fp32"),
        no_effect("offload_policy", "CPU offload is not supported"),
        no_effect("autocast_dtype", "the compute dtype is model.torch_dtype"),
        no_effect("defer_fsdp_grad_sync", "gradients are reduced once per optimizer step"),
        no_effect("enable_async_tensor_parallel", "tensor parallelism is not supported yet"),
        no_effect("enable_compile", "no torch.compile; kernels are built ahead of time"),
        no_effect("enable_fsdp2_prefetch", kKernelChoice), no_effect("fsdp2_backward_prefetch_depth", kKernelChoice),
        no_effect("fsdp2_forward_prefetch_depth", kKernelChoice),
        no_effect("find_unused_parameters", "every trainable parameter gets a gradient"),
        effect("bucket_cap_mb"), no_effect("backend", "the backend follows the device: NCCL on GPUs, Gloo on CPUs")}},
      // Experiment trackers (config/tracker_sections.h).
      {"tensorboard", {effect("log_dir"), effect("name")}},
      {"mlflow",
       {effect("experiment_name"), effect("run_name"), effect("tracking_uri"), effect("artifact_location"),
        effect("tags"), effect("resume"), effect("description"), effect("flatten_depth")}},
      // AutoModel's WandbConfig fields, its `enable` toggle, and the wandb.init() arguments it
      // forwards that mean something for an offline run.
      {"wandb",
       {effect("project"), effect("entity"), effect("name"), effect("group"), effect("tags"), effect("notes"),
        effect("enable"), effect("mode"), effect("dir"), effect("save_dir"), effect("id"), effect("job_type"),
        no_effect("resume", "a resumed training reuses the run id in checkpoint_dir/wandb_run_id; `wandb sync` "
                            "appends its folder to that run"),
        no_effect("save_code", "no Python source to save"), no_effect("reinit", "one run per process"),
        no_effect("settings", "wandb client settings; runs are written offline by this build"),
        no_effect("anonymous", "offline runs take their user from `wandb sync`"),
        no_effect("config_exclude_keys", "the config is the whole resolved recipe, as AutoModel logs it"),
        no_effect("config_include_keys", "the config is the whole resolved recipe, as AutoModel logs it")}},
      // Informational or performance-only sections: any keys (those used are read by name; the
      // rest are reported as having no effect).
      {"benchmark", {effect("*")}},
      {"compile", {effect("*")}},
      {"ci", {effect("*")}},
  };
  return keys;
}

namespace {

// Integrations that do not change what is trained (experiment loggers, launchers): accepted
// with any content and ignored, with a note.
const std::set<std::string>& integration_sections() {
  static const std::set<std::string> names = {"comet", "slurm", "skypilot",
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
  return key == "column_mapping" || key == "tokenizer" || key == "tags" || section == "ci";
}

template <typename Map>
std::vector<std::string> names_of(const Map& m) {
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
  const auto& sections = recipe_keys();
  std::vector<std::string> ignored;
  // The model section first: an unsupported model kind is the error that matters most.
  std::vector<std::string> order;
  if (tree.contains("model")) order.push_back("model");
  for (const auto& [section, _] : tree.items())
    if (section != "model") order.push_back(section);
  for (const auto& section : order) {
    const auto& body = tree[section];
    if (integration_sections().count(section)) {
      ignored.push_back(fmt::format("accepted, no effect here: {} (integrations are not part of this build)", section));
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
    std::vector<std::string> keys;
    for (const auto& spec : it->second) keys.push_back(spec.name);
    if (keys.size() == 1 && keys.front() == section) {  // a value (seed: 42), not a section
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

std::vector<std::string> keys_without_effect(const nlohmann::json& tree, const std::set<std::string>& read) {
  std::vector<std::string> out;
  auto note = [&](const std::string& key, const std::string& reason) {
    out.push_back(fmt::format("accepted, no effect here: {} ({})", key, reason));
  };
  for (const auto& [section, body] : tree.items()) {
    auto it = recipe_keys().find(section);
    if (it == recipe_keys().end() || body.is_null()) continue;
    const auto& specs = it->second;
    if (specs.size() == 1 && specs.front().name == section) {  // a value
      if (specs.front().use == KeyUse::kNoEffect) note(section, specs.front().reason);
      continue;
    }
    if (!body.is_object()) continue;
    for (const auto& [key, value] : body.items()) {
      if (value.is_null()) continue;
      const KeySpec* spec = nullptr;
      for (const auto& s : specs)
        if (s.name == key || s.name == "*") spec = &s;
      if (spec == nullptr) continue;  // unknown: reported by validate_schema
      auto name = section + "." + key;
      if (spec->use == KeyUse::kNoEffect) note(name, spec->reason);
      else if (spec->use == KeyUse::kEffect && !read.count(name)) note(name, "not used with the rest of this recipe");
    }
  }
  return out;
}

}  // namespace automodel::config
