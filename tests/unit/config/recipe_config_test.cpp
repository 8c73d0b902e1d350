// Recipes: YAML typing as AutoModel's loader, overrides, ${ENV}, schema errors with suggestions,
// and the real NeMo AutoModel recipes parsing into the expected typed values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "automodel/common/error.h"
#include "automodel/config/overrides.h"
#include "automodel/config/recipe_config.h"
#include "automodel/config/yaml_json.h"
#include "test_util.h"

namespace automodel::config {
namespace {

using testing::error_message_of;

nlohmann::json minimal() {
  return parse_yaml(R"(
model:
  pretrained_model_name_or_path: some/model
dataset:
  _target_: nemo_automodel.components.datasets.llm.squad.make_squad_dataset
  dataset_name: data/squad.jsonl
)", "test.yaml");
}

TEST(YamlTyping, PlainScalarsAreTypedLikeAutoModelAndQuotedOnesStayStrings) {
  auto tree = parse_yaml("a: 8\nb: 1e-8\nc: 5.0e-06\nd: none\ne: True\nf: '8'\ng: '*_proj'\nh: [0.9, 0.999]\n", "t");
  EXPECT_EQ(tree["a"], 8);
  EXPECT_DOUBLE_EQ(tree["b"].get<double>(), 1e-8);
  EXPECT_DOUBLE_EQ(tree["c"].get<double>(), 5e-6);
  EXPECT_TRUE(tree["d"].is_null());
  EXPECT_EQ(tree["e"], true);
  EXPECT_EQ(tree["f"], "8");
  EXPECT_EQ(tree["g"], "*_proj");
  EXPECT_DOUBLE_EQ(tree["h"][1].get<double>(), 0.999);
}

TEST(YamlTyping, InvalidYamlNamesFileAndLine) {
  auto msg = error_message_of<Error>([] { parse_yaml("a: 1\nb: [1, 2\n", "bad.yaml"); });
  EXPECT_NE(msg.find("bad.yaml line"), std::string::npos) << msg;
}

TEST(Overrides, BothSpellingsSetNestedKeysAndNullRemovesASection) {
  auto overrides = parse_override_args({"--step_scheduler.max_steps=7", "--optimizer.lr", "3e-4", "--peft=null",
                                        "--optimizer.betas=[0.8, 0.9]", "--new.section.key=x"});
  ASSERT_EQ(overrides.size(), 5u);
  nlohmann::json tree = {{"peft", {{"dim", 8}}}, {"optimizer", {{"lr", 1.0}}}};
  for (const auto& o : overrides) apply_override(tree, o);
  EXPECT_EQ(tree["step_scheduler"]["max_steps"], 7);
  EXPECT_DOUBLE_EQ(tree["optimizer"]["lr"].get<double>(), 3e-4);
  EXPECT_FALSE(tree.contains("peft"));
  EXPECT_DOUBLE_EQ(tree["optimizer"]["betas"][0].get<double>(), 0.8);
  EXPECT_EQ(tree["new"]["section"]["key"], "x");
}

TEST(Overrides, MalformedArgumentsAreErrors) {
  EXPECT_NE(error_message_of<Error>([] { parse_override_args({"max_steps=3"}); }).find("--section.key=value"),
            std::string::npos);
  EXPECT_NE(error_message_of<Error>([] { parse_override_args({"--a.b"}); }).find("has no value"), std::string::npos);
  nlohmann::json tree = {{"optimizer", 3}};
  EXPECT_NE(error_message_of<Error>([&] { apply_override(tree, {"optimizer.lr", "1"}); }).find("not a section"),
            std::string::npos);
}

TEST(EnvInterpolation, WholeReferencesAreTypedAndDefaultsApply) {
  ::setenv("AM_TEST_STEPS", "12", 1);
  ::unsetenv("AM_TEST_UNSET");
  nlohmann::json tree = {{"a", "${AM_TEST_STEPS}"}, {"b", "run_${AM_TEST_STEPS}_x"}, {"c", "${AM_TEST_UNSET,0.5}"},
                         {"d", {"${AM_TEST_UNSET,dir}/ckpt"}}};
  interpolate_env(tree);
  EXPECT_EQ(tree["a"], 12);
  EXPECT_EQ(tree["b"], "run_12_x");
  EXPECT_DOUBLE_EQ(tree["c"].get<double>(), 0.5);
  EXPECT_EQ(tree["d"][0], "dir/ckpt");
  nlohmann::json missing = {{"model", {{"path", "${AM_TEST_UNSET}"}}}};
  auto msg = error_message_of<Error>([&] { interpolate_env(missing); });
  EXPECT_NE(msg.find("model.path"), std::string::npos) << msg;
  EXPECT_NE(msg.find("AM_TEST_UNSET"), std::string::npos) << msg;
}

TEST(Schema, UnknownKeySuggestsTheNearestValidOne) {
  auto tree = minimal();
  tree["step_scheduler"] = {{"max_step", 3}};
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("step_scheduler.max_step"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'max_steps'"), std::string::npos) << msg;
}

TEST(Schema, UnknownSectionAndTargetSuggestTheNearest) {
  auto tree = minimal();
  tree["optimiser"] = {{"lr", 1}};
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("did you mean 'optimizer'"), std::string::npos) << msg;
  tree = minimal();
  tree["optimizer"] = {{"_target_", "torch.optim.AdamX"}};
  msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("unknown _target_ 'torch.optim.AdamX'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'torch.optim.Adam"), std::string::npos) << msg;
}

// Options of newer AutoModel versions, informational sections and logger integrations are
// accepted and reported as unused; near misses of known names stay errors (above).
TEST(Schema, OptionsFarFromKnownNamesAreReportedAsUnusedNotRejected) {
  auto tree = minimal();
  tree["benchmark"] = {{"cadence", 1}, {"description", "x"}, {"peak_tflops", 989}};
  tree["comet"] = {{"project_name", "p"}};
  tree["moe_router_settings"] = {{"anything", 1}};
  tree["dataset"]["trust_remote_code_for_hub"] = true;
  auto c = parse_recipe(tree, "r.yaml");
  EXPECT_DOUBLE_EQ(c.peak_tflops, 989);
  const std::vector<std::string> expected = {
      "accepted, no effect here: comet (integrations are not part of this build)",
      "section 'moe_router_settings' (unknown here)", "'dataset.trust_remote_code_for_hub' (unknown here)",
      "accepted, no effect here: benchmark.cadence (not used with the rest of this recipe)",
      "accepted, no effect here: benchmark.description (not used with the rest of this recipe)"};
  for (const auto& note : expected)
    EXPECT_NE(std::find(c.ignored.begin(), c.ignored.end(), note), c.ignored.end()) << note;
  EXPECT_EQ(c.ignored.size(), expected.size());
}

// The wandb section as AutoModel reads it: defaults from WandbConfig and wandb's environment,
// `enable: false` / `mode: disabled` turn it off, offline without an API key.
// The final model can only be logged when a final checkpoint is written: otherwise the key is
// reported at start as having no effect, never silently dropped.
TEST(MlflowSection, LogFinalModelWithoutCheckpointingIsReportedAsWithoutEffect) {
  auto tree = minimal();
  tree["mlflow"] = {{"log_final_model", true}};
  auto has_note = [](const RecipeConfig& c) {
    for (const auto& note : c.ignored)
      if (note.find("mlflow.log_final_model (checkpoint.enabled is false") != std::string::npos) return true;
    return false;
  };
  EXPECT_FALSE(has_note(parse_recipe(tree, "r.yaml")));
  tree["checkpoint"] = {{"enabled", false}};
  auto c = parse_recipe(tree, "r.yaml");
  ASSERT_TRUE(c.mlflow);
  EXPECT_TRUE(c.mlflow->log_final_model);
  EXPECT_TRUE(has_note(c));
}

TEST(WandbSection, DefaultsFollowAutoModelAndWandbsEnvironment) {
  ::unsetenv("WANDB_API_KEY");
  ::unsetenv("WANDB_MODE");
  ::unsetenv("WANDB_DIR");
  ::unsetenv("WANDB_ENTITY");
  ::unsetenv("WANDB_RUN_ID");
  auto tree = minimal();
  tree["model"]["pretrained_model_name_or_path"] = "/models/meta-llama/Llama-3.2-1B";
  tree["wandb"] = nullptr;
  auto c = parse_recipe(tree, "r.yaml");
  ASSERT_TRUE(c.wandb);
  EXPECT_EQ(c.wandb->project, "automodel");
  EXPECT_EQ(c.wandb->name, "meta-llama_Llama-3.2-1B");
  EXPECT_EQ(c.wandb->mode, "offline");
  EXPECT_EQ(c.wandb->dir, ".");
  EXPECT_TRUE(c.wandb->entity.empty() && c.wandb->id.empty() && c.wandb->tags.empty());
  tree["model"]["pretrained_model_name_or_path"] = "tiny";
  tree["wandb"] = {{"save_dir", "logs"}, {"tags", "one"}, {"mode", "dryrun"}};
  c = parse_recipe(tree, "r.yaml");
  EXPECT_EQ(c.wandb->name, "tiny");
  EXPECT_EQ(c.wandb->dir, "logs");
  EXPECT_EQ(c.wandb->tags, std::vector<std::string>{"one"});
  EXPECT_EQ(c.wandb->mode, "offline");
  ::setenv("WANDB_API_KEY", "k", 1);
  tree["wandb"] = nlohmann::json::object();
  EXPECT_EQ(parse_recipe(tree, "r.yaml").wandb->mode, "online");
  ::unsetenv("WANDB_API_KEY");
  tree["wandb"] = {{"enable", false}, {"project", "p"}};
  EXPECT_FALSE(parse_recipe(tree, "r.yaml").wandb);
  tree["wandb"] = {{"mode", "disabled"}};
  EXPECT_FALSE(parse_recipe(tree, "r.yaml").wandb);
  tree["wandb"] = {{"mode", "offlien"}};
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("wandb.mode"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offlien"), std::string::npos) << msg;
}

// Two recipes that set every key the schema accepts (the mock dataset reads keys the
// column-mapped one does not, and distributed_config's activation_checkpointing overrides
// distributed's).
std::vector<nlohmann::json> recipes_with_every_key() {
  auto a = parse_yaml(R"(
recipe: TrainFinetuneRecipeForNextTokenPrediction
seed: 1
model: {_target_: nemo_automodel.NeMoAutoModelForCausalLM.from_pretrained, pretrained_model_name_or_path: m,
  torch_dtype: bf16, attn_implementation: eager, device: cpu, trust_remote_code: true, force_hf: true,
  use_liger_kernel: false, revision: main, output_hidden_states: false}
dataset: &data {_target_: nemo_automodel.components.datasets.llm.column_mapped_text_instruction_dataset.ColumnMappedTextInstructionDataset,
  path_or_dataset_id: d.jsonl, path_or_dataset: d.jsonl, dataset_name: d.jsonl, data_files: d.jsonl, split: train,
  column_mapping: {question: q, answer: a}, seq_length: 128, answer_only_loss_mask: true, padding: max_length,
  truncation: true, chat_template: "{{ x }}", use_hf_chat_template: true, limit_dataset_samples: 10,
  num_samples_limit: 10, skip_invalid_samples: true, tokenizer: tok, text_column: text, pad_seq_len_divisible: 8,
  batch_size: 2, start_of_turn_token: "<s>", vocab_size: 10, seq_len: 8, num_samples: 4, seed: 3}
validation_dataset: *data
dataloader: &loader {_target_: torchdata.stateful_dataloader.StatefulDataLoader,
  collate_fn: nemo_automodel.components.datasets.utils.default_collater, shuffle: true, batch_size: 2,
  num_workers: 2, pin_memory: true, persistent_workers: true, prefetch_factor: 2, drop_last: true}
validation_dataloader: *loader
step_scheduler: {global_batch_size: 4, local_batch_size: 2, num_epochs: 1, max_steps: 10, val_every_steps: 5,
  ckpt_every_steps: 5, grad_acc_steps: 2, preemption_signal: SIGUSR1}
optimizer: {_target_: torch.optim.AdamW, lr: 1.0e-4, weight_decay: 0.0, betas: [0.9, 0.99], eps: 1.0e-8,
  foreach: true, fused: false, amsgrad: false, maximize: false}
lr_scheduler: {lr_decay_style: cosine, lr_warmup_steps: 1, lr_decay_steps: 10, min_lr: 1.0e-5, init_lr: 0.0,
  wsd_decay_steps: 2, lr_wsd_decay_style: linear}
loss_fn: {_target_: nemo_automodel.components.loss.masked_ce.MaskedCrossEntropy, fp32_upcast: true,
  ignore_index: -100, reduction: sum, chunk_len: 128}
peft: {_target_: nemo_automodel.components._peft.lora.PeftConfig, target_modules: ["*_proj"], exclude_modules: [],
  match_all_linear: false, dim: 8, alpha: 16, dropout: 0.1, dropout_position: post, lora_A_init: xavier,
  use_triton: false, use_dora: false, lora_dtype: bf16, use_memory_efficient_lora: false, peft_fn: x}
checkpoint: {enabled: true, checkpoint_dir: c, model_save_format: safetensors, save_consolidated: final,
  restore_from: LATEST, dequantize_base_checkpoint: false, model_cache_dir: x, model_repo_id: x, is_peft: true}
distributed: {_target_: nemo_automodel.components.distributed.fsdp2.FSDP2Manager, strategy: fsdp2, dp_size: none,
  dp_replicate_size: 1, tp_size: 1, pp_size: 1, cp_size: 1, ep_size: 1, sequence_parallel: false,
  activation_checkpointing: true, bucket_cap_mb: 25, reshard_after_forward: true}
dist_env: {backend: nccl, timeout_minutes: 10}
packed_sequence: {packed_sequence_size: 256, split_across_pack: false}
rng: {_target_: nemo_automodel.components.training.rng.StatefulRNG, seed: 1, ranked: true}
clip_grad_norm: {max_norm: 1.0}
distributed_config: {_target_: nemo_automodel.components.distributed.config.FSDP2Config, sequence_parallel: false,
  activation_checkpointing_scope: x, reshard_after_forward: true, tp_plan: x, patch_is_packed_sequence: true,
  mp_policy: x, offload_policy: x, autocast_dtype: x, defer_fsdp_grad_sync: true, enable_async_tensor_parallel: false,
  enable_compile: false, enable_fsdp2_prefetch: true, fsdp2_backward_prefetch_depth: 1, fsdp2_forward_prefetch_depth: 1,
  find_unused_parameters: false, bucket_cap_mb: 25, backend: nccl}
benchmark: {peak_tflops: 100}
tensorboard: {log_dir: tb, name: run1}
mlflow: {experiment_name: e, run_name: r, tracking_uri: "file:./mlruns", artifact_location: a, tags: {k: v},
  resume: true, description: d, flatten_depth: 2, log_final_model: true}
wandb: {project: p, entity: e, name: n, group: g, tags: [t1, t2], notes: x, enable: true, mode: offline, dir: w,
  save_dir: w, id: abc123, job_type: train, resume: allow, save_code: false, reinit: true, settings: {},
  anonymous: never, config_exclude_keys: [a], config_include_keys: [b]}
compile: {"*": x}
ci: {"*": x}
)", "every_key.yaml");
  auto b = a;
  for (const char* section : {"dataset", "validation_dataset"})
    b[section]["_target_"] = "nemo_automodel.components.datasets.llm.mock_iterable_dataset.MockIterableDataset";
  b["distributed_config"]["activation_checkpointing"] = true;
  auto c = a;  // a VLM recipe: its own model loader and datasets, freeze_config and processor
  c["recipe"] = "FinetuneRecipeForVLM";
  c["model"]["_target_"] = "nemo_automodel.NeMoAutoModelForImageTextToText.from_pretrained";
  for (const char* section : {"dataset", "validation_dataset"})
    c[section]["_target_"] = "nemo_automodel.components.datasets.vlm.datasets.make_cord_v2_dataset";
  c.erase("packed_sequence");
  c["freeze_config"] = {{"freeze_embeddings", true}, {"freeze_vision_tower", true}, {"freeze_language_model", false},
                        {"freeze_audio_tower", false}};
  c["processor"] = {{"_target_", "transformers.AutoProcessor.from_pretrained"}, {"pretrained_model_name_or_path", "p"},
                    {"min_pixels", 3136}, {"max_pixels", 12845056}};
  return {a, b, c};
}

// Issue 11 §2: every key the schema accepts takes effect (read by the parser in some recipe),
// is validated (a bad value is an error), or is reported at start as having no effect, with a
// reason; a recipe setting it never passes silently.
TEST(Schema, EveryAcceptedKeyTakesEffectIsValidatedOrIsReportedAsWithoutEffect) {
  auto recipes = recipes_with_every_key();
  std::map<std::string, size_t> reported;  // note -> recipes reporting it
  for (const auto& tree : recipes)
    for (const auto& note : parse_recipe(tree, "every_key.yaml").ignored) ++reported[note];
  auto is_reported = [&](const std::string& key, size_t times) {
    for (const auto& [note, n] : reported)
      if (note.starts_with("accepted, no effect here: " + key + " (") && n >= times) return true;
    return false;
  };
  // A bad value of each validated key (grad_acc_steps needs the process count: CLI test).
  const std::map<std::string, nlohmann::json> bad = {
      {"model._target_", "x.Bad"}, {"dataset._target_", "x.Bad"}, {"validation_dataset._target_", "x.Bad"},
      {"dataloader._target_", "x.Bad"}, {"dataloader.collate_fn", "x.Bad"}, {"dataloader.batch_size", 3},
      {"validation_dataloader._target_", "x.Bad"}, {"validation_dataloader.collate_fn", "x.Bad"},
      {"validation_dataloader.batch_size", 3}, {"optimizer._target_", "x.Bad"}, {"optimizer.amsgrad", true},
      {"optimizer.maximize", true}, {"loss_fn._target_", "x.Bad"}, {"loss_fn.ignore_index", 0},
      {"loss_fn.reduction", "mean"}, {"peft._target_", "x.Bad"}, {"peft.use_dora", true},
      {"checkpoint.model_save_format", "pickle"}, {"distributed.dp_size", "all"},
      {"distributed.dp_replicate_size", 2}, {"distributed.tp_size", 2}, {"distributed.pp_size", 2},
      {"distributed.cp_size", 2}, {"distributed.ep_size", 2}, {"distributed.sequence_parallel", true},
      {"distributed_config.sequence_parallel", true}, {"rng._target_", "x.Bad"},
      {"step_scheduler.grad_acc_steps", nullptr}, {"freeze_config.freeze_audio_tower", true},
      {"processor._target_", "x.Bad"}};
  size_t keys = 0;
  for (const auto& [section, specs] : recipe_keys()) {
    std::set<std::string> names;
    for (const auto& spec : specs) {
      const bool value_section = specs.size() == 1 && spec.name == section;
      const auto key = value_section ? section : section + "." + spec.name;
      SCOPED_TRACE(key);
      EXPECT_TRUE(names.insert(spec.name).second) << "listed twice";
      EXPECT_EQ(spec.reason.empty(), spec.use != KeyUse::kNoEffect) << "a reason exactly for keys without effect";
      ++keys;
      if (spec.name == "*") continue;  // free-form: covered by the benchmark/compile keys above
      auto setting = std::count_if(recipes.begin(), recipes.end(), [&](const nlohmann::json& t) {
        return value_section ? t.contains(section) : t.contains(section) && t[section].contains(spec.name);
      });
      ASSERT_GT(setting, 0) << "recipes_with_every_key() must set it";
      switch (spec.use) {
        case KeyUse::kEffect:
          EXPECT_FALSE(is_reported(key, static_cast<size_t>(setting))) << "read by no recipe: it takes no effect";
          break;
        case KeyUse::kNoEffect:
          EXPECT_TRUE(is_reported(key, static_cast<size_t>(setting))) << "not reported as without effect";
          break;
        case KeyUse::kValidated: {
          EXPECT_FALSE(is_reported(key, 1));
          auto it = bad.find(key);
          ASSERT_NE(it, bad.end()) << "a validated key needs a bad value here";
          if (it->second.is_null()) break;
          auto tree = *std::find_if(recipes.begin(), recipes.end(),
                                    [&](const nlohmann::json& t) {
                                      return t.contains(section) && t[section].contains(spec.name);
                                    });
          tree[section][spec.name] = it->second;
          EXPECT_THROW(parse_recipe(tree, "every_key.yaml"), Error) << "accepted " << it->second.dump();
          break;
        }
      }
    }
  }
  EXPECT_GT(keys, 150u);
  EXPECT_TRUE(is_reported("compile.*", 2));  // free-form sections report what they do not read
  EXPECT_FALSE(is_reported("benchmark.peak_tflops", 1));
}

TEST(Schema, EnabledFeaturesThisBuildLacksAreErrorsAndDisabledOnesAreFine) {
  auto tree = minimal();
  tree["fp8"] = {{"enabled", false}, {"recipe_name", "tensorwise"}};
  EXPECT_NO_THROW(parse_recipe(tree, "r.yaml"));
  tree["qat"] = {{"enabled", true}, {"fake_quant_after_n_steps", 1}};
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("'qat' is not supported by this build"), std::string::npos) << msg;
}

// AutoModel's newer layout: sizes in `distributed`, the strategy's options in distributed_config.
TEST(Schema, DistributedConfigSelectsTheStrategyAndItsOptions) {
  auto tree = minimal();
  tree["distributed"] = {{"dp_size", "none"}, {"tp_size", 1}, {"cp_size", 1}};
  tree["distributed_config"] = {{"_target_", "nemo_automodel.components.distributed.config.DDPConfig"},
                                {"activation_checkpointing", "selective"}};
  auto c = parse_recipe(tree, "r.yaml");
  EXPECT_EQ(c.strategy, "ddp");
  EXPECT_TRUE(c.activation_checkpointing);
  tree["distributed_config"] = {{"_target_", "nemo_automodel.components.distributed.config.FSDP2Config"},
                                {"sequence_parallel", false}, {"reshard_after_forward", false}};
  c = parse_recipe(tree, "r.yaml");
  EXPECT_EQ(c.strategy, "fsdp2");
  EXPECT_FALSE(c.reshard_after_forward);
  EXPECT_FALSE(c.activation_checkpointing);
  tree["distributed"]["strategy"] = "ddp";
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("is for fsdp2 but the strategy is ddp"), std::string::npos) << msg;
}

TEST(Schema, WrongTypesAndBadValuesNameTheField) {
  auto tree = minimal();
  tree["peft"] = {{"dim", "eight"}};
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("peft.dim"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;
  tree = minimal();
  tree["step_scheduler"] = {{"global_batch_size", 10}, {"local_batch_size", 4}};
  msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("multiple of local_batch_size"), std::string::npos) << msg;
  tree = minimal();
  tree["distributed"] = {{"tp_size", 2}};
  msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("tp_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not supported yet"), std::string::npos) << msg;
}

TEST(RecipeDefaults, NoPeftSectionMeansFullFineTuneAndPeftGetsAutoModelDefaults) {
  auto c = parse_recipe(minimal(), "r.yaml");
  EXPECT_FALSE(c.peft.enabled);
  EXPECT_DOUBLE_EQ(c.max_grad_norm, 1.0);
  auto tree = minimal();
  tree["peft"] = {{"_target_", "nemo_automodel.components._peft.lora.PeftConfig"}};
  c = parse_recipe(tree, "r.yaml");
  EXPECT_TRUE(c.peft.enabled);
  EXPECT_EQ(c.peft.dim, 8);
  EXPECT_DOUBLE_EQ(c.peft.alpha, 32);
  EXPECT_EQ(c.peft.target_modules, std::vector<std::string>{"*_proj"});
  EXPECT_EQ(c.peft.dropout_position, "post");
  EXPECT_EQ(c.peft.lora_A_init, "xavier");
}

class RealAutoModelRecipe : public ::testing::TestWithParam<std::string> {};

TEST_P(RealAutoModelRecipe, ParsesWithItsValues) {
  auto path = testing::fixtures_dir() / "automodel_recipes" / GetParam();
  auto c = load_recipe(path, {});
  auto raw = load_yaml_file(path);
  EXPECT_EQ(c.model.name_or_path, raw["model"]["pretrained_model_name_or_path"]);
  EXPECT_EQ(c.step_scheduler.global_batch_size, raw["step_scheduler"]["global_batch_size"]);
  EXPECT_EQ(c.step_scheduler.local_batch_size, raw["step_scheduler"]["local_batch_size"]);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, raw["optimizer"]["lr"].get<double>());
  EXPECT_EQ(c.peft.enabled, raw.contains("peft"));
  if (raw.contains("peft")) EXPECT_EQ(c.peft.dim, raw["peft"]["dim"]);
  EXPECT_EQ(c.validation_dataset.has_value(), raw.contains("validation_dataset"));
}

INSTANTIATE_TEST_SUITE_P(Recipes, RealAutoModelRecipe,
                         ::testing::Values("customizer_llama_3_2_1b_full_sft_chat.yaml",
                                           "customizer_llama_3_2_1b_peft_packing.yaml", "gemma_3_270m_squad_peft.yaml",
                                           "llama3_1_8b_peft_benchmark.yaml", "llama3_2_1b_hellaswag_peft.yaml",
                                           "llama3_2_1b_squad.yaml", "llama3_2_1b_squad_peft.yaml",
                                           "mistral_7b_squad_peft.yaml"),
                         [](const auto& info) { return testing::param_name(info.param); });

TEST(RealAutoModelRecipe, VlmRecipeParsesWithItsDatasetsFreezeConfigAndLoraExclusions) {
  auto c = load_recipe(testing::fixtures_dir() / "automodel_recipes" / "gemma3_vl_4b_cord_v2_peft.yaml", {});
  EXPECT_TRUE(c.vlm());
  EXPECT_TRUE(c.model.image_text_to_text);
  EXPECT_EQ(c.dataset.kind, Component::kVlmCordV2Dataset);
  ASSERT_TRUE(c.validation_dataset);
  EXPECT_EQ(c.validation_dataset->split, "validation");
  EXPECT_TRUE(c.freeze.embeddings);
  EXPECT_TRUE(c.freeze.vision_tower);
  EXPECT_FALSE(c.freeze.language_model);
  EXPECT_EQ(c.peft.dim, 8);
  EXPECT_NE(std::find(c.peft.exclude_modules.begin(), c.peft.exclude_modules.end(), "*vision_tower*"),
            c.peft.exclude_modules.end());
  // exclude_modules alone: AutoModel adapts every linear layer not excluded, so no *_proj default.
  EXPECT_TRUE(c.peft.target_modules.empty());
}

TEST(VlmRecipe, DatasetsModelLoaderAndPackingMustAgreeWithTheRecipeClass) {
  const auto vlm_dataset = "nemo_automodel.components.datasets.vlm.datasets.make_rdr_dataset";
  auto tree = minimal();  // an LLM recipe ...
  tree["dataset"]["_target_"] = vlm_dataset;  // ... with image rows
  auto msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("dataset._target_ is a VLM dataset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("recipe: FinetuneRecipeForVLM"), std::string::npos) << msg;
  tree = minimal();
  tree["model"]["_target_"] = "nemo_automodel.NeMoAutoModelForImageTextToText.from_pretrained";
  msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("loads a vision-language model"), std::string::npos) << msg;
  tree = minimal();
  tree["recipe"] = "FinetuneRecipeForVLM";  // a VLM recipe with text rows
  msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("needs a VLM dataset in dataset._target_"), std::string::npos) << msg;
  tree["dataset"]["_target_"] = vlm_dataset;
  tree["packed_sequence"] = {{"packed_sequence_size", 512}};
  msg = error_message_of<Error>([&] { parse_recipe(tree, "r.yaml"); });
  EXPECT_NE(msg.find("does not pack"), std::string::npos) << msg;
  tree.erase("packed_sequence");
  EXPECT_TRUE(parse_recipe(tree, "r.yaml").vlm());
  // AutoModel 0.2's collate options are reported, not silently dropped.
  tree["dataloader"] = {{"collate_fn", {{"_target_", "nemo_automodel.components.datasets.vlm.collate_fns.default_collate_fn"},
                                        {"start_of_response_token", "<start_of_turn>model\n"}}}};
  auto notes = parse_recipe(tree, "r.yaml").ignored;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.starts_with("accepted, no effect here: dataloader.collate_fn.start_of_response_token (");
  }));
}

TEST(VlmRecipe, FreezeConfigIsReadForVlmsAndReportedAsWithoutEffectForLlms) {
  auto tree = minimal();
  tree["freeze_config"] = {{"freeze_embeddings", false}};
  auto llm = parse_recipe(tree, "r.yaml");
  EXPECT_TRUE(llm.freeze.embeddings);
  EXPECT_TRUE(std::any_of(llm.ignored.begin(), llm.ignored.end(), [](const std::string& s) {
    return s.find("freeze_config.freeze_embeddings") != std::string::npos;
  }));
  tree["recipe"] = "FinetuneRecipeForVLM";
  tree["dataset"]["_target_"] = "nemo_automodel.components.datasets.vlm.datasets.make_rdr_dataset";
  tree["freeze_config"]["freeze_language_model"] = true;
  auto vlm = parse_recipe(tree, "r.yaml");
  EXPECT_FALSE(vlm.freeze.embeddings);
  EXPECT_TRUE(vlm.freeze.vision_tower);
  EXPECT_TRUE(vlm.freeze.language_model);
}

TEST(RecipeRoundTrip, ConfigYamlReadsBackToTheSameTree) {
  auto tree = load_yaml_file(testing::fixtures_dir() / "automodel_recipes" / "customizer_llama_3_2_1b_peft_packing.yaml");
  EXPECT_EQ(parse_yaml(to_yaml(tree), "roundtrip"), tree);
}

}  // namespace
}  // namespace automodel::config

namespace automodel::config {
namespace {

// Every recipe we ship parses (hub ids and ${ENV,default} data paths included).
TEST(ShippedRecipes, AllParse) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(testing::source_dir() / "recipes")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    auto c = load_recipe(entry.path(), {});
    EXPECT_FALSE(c.model.name_or_path.empty());
    ++n;
  }
  EXPECT_GE(n, 7u);
}

}  // namespace
}  // namespace automodel::config
