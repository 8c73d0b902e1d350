#include "automodel/config/schema.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/config/section_keys.h"

namespace automodel::config {

// The docs' order: what is trained, the data, how, then how the run executes and is logged.
const std::vector<SectionSpec>& recipe_sections() {
  static const auto sections = [] {
    std::vector<SectionSpec> out;
    auto add = [&](const auto& section) { out.push_back({section.name, section.doc, specs_of(section.keys), ""}); };
    for (const char* name : {"recipe", "model"}) add(*recipe_section(name));
    add(dataset_section());
    out.push_back({"validation_dataset", "Held-out rows for the validation loss (step_scheduler.val_every_steps).",
                   out.back().keys, "dataset"});
    for (const char* name : {"dataloader", "validation_dataloader", "step_scheduler", "optimizer", "lr_scheduler",
                             "loss_fn", "peft", "checkpoint", "freeze_config", "processor", "packed_sequence", "distributed", "distributed_config",
                             "dist_env", "clip_grad_norm", "seed", "rng", "benchmark"})
      add(*recipe_section(name));
    add(tensorboard_section());
    add(mlflow_section());
    add(wandb_section());
    for (const char* name : {"compile", "ci"}) add(*recipe_section(name));
    return out;
  }();
  return sections;
}

const std::map<std::string, std::vector<KeySpec>>& recipe_keys() {
  static const auto keys = [] {
    std::map<std::string, std::vector<KeySpec>> out;
    for (const auto& section : recipe_sections()) out[section.name] = section.keys;
    return out;
  }();
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
      {"nemo_automodel.NeMoAutoModelForImageTextToText.from_pretrained", "model", Component::kImageTextToText},
      {"nemo_automodel._transformers.NeMoAutoModelForImageTextToText.from_pretrained", "model",
       Component::kImageTextToText},
      {"transformers.AutoModelForImageTextToText.from_pretrained", "model", Component::kImageTextToText},
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
      {"automodel.data.VlmConversationDataset", "dataset", Component::kVlmConversationDataset},
      {"nemo_automodel.components.datasets.vlm.datasets.make_meta_dataset", "dataset",
       Component::kVlmConversationDataset},
      {"nemo_automodel.components.datasets.vlm.datasets.make_unimm_chat_dataset", "dataset",
       Component::kVlmConversationDataset},
      {"nemo_automodel.components.datasets.vlm.datasets.make_rdr_dataset", "dataset", Component::kVlmRdrDataset},
      {"nemo_automodel.components.datasets.vlm.datasets.make_cord_v2_dataset", "dataset",
       Component::kVlmCordV2Dataset},
      {"nemo_automodel.components.datasets.vlm.datasets.make_medpix_dataset", "dataset",
       Component::kVlmMedpixDataset},
      {"nemo_automodel.components.datasets.utils.default_collater", "collate_fn", Component::kCollater},
      {"nemo_automodel.components.datasets.vlm.collate_fns.default_collate_fn", "collate_fn", Component::kVlmCollate},
      {"nemo_automodel.components.datasets.vlm.collate_fns.qwen2_5_collate_fn", "collate_fn", Component::kVlmCollate},
      {"transformers.AutoProcessor.from_pretrained", "processor", Component::kProcessor},
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
    if (std::find(keys.begin(), keys.end(), "*") != keys.end()) continue;
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
      // The key's own declaration, else the section's "*".
      const KeySpec* spec = nullptr;
      for (const auto& s : specs)
        if (s.name == key || (s.name == "*" && spec == nullptr)) spec = &s;
      if (spec == nullptr) continue;  // unknown: reported by validate_schema
      auto name = section + "." + key;
      if (spec->use == KeyUse::kNoEffect) note(name, spec->reason);
      else if (spec->use == KeyUse::kEffect && !read.count(name)) note(name, "not used with the rest of this recipe");
    }
  }
  return out;
}

}  // namespace automodel::config
