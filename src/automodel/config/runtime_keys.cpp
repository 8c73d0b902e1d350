// Declarations of the sections that say how a run executes: processes and sharding, packing,
// seeds, gradient clipping, benchmarks. Their values live on RecipeConfig itself.
#include "automodel/common/error.h"
#include "automodel/config/section_keys.h"

namespace automodel::config {
namespace {

using hf::JsonFields;
using K = RecipeKey;

constexpr const char* kNoTensorParallel = "tensor parallelism is not supported yet";
constexpr const char* kBackend = "the backend follows the device: NCCL on GPUs, Gloo on CPUs";

// Whether the recipe sets `section.key` (to something other than null), without recording a read.
bool recipe_sets(const nlohmann::json& tree, const std::string& section, const std::string& key) {
  if (!tree.is_object() || !tree.contains(section) || !tree[section].is_object()) return false;
  auto it = tree[section].find(key);
  return it != tree[section].end() && !it->is_null();
}

std::string strategy_of(const JsonFields& f, const std::string& section) {
  return resolve_target(section, f.get_string("_target_"), f.where("_target_")) == Component::kDdp ? "ddp" : "fsdp2";
}

// Tensor/context/pipeline/expert parallel sizes other than 1 are not implemented.
K size_one(const std::string& name, const std::string& doc) {
  return K::checked(name, "integer", "1", doc, [name](const JsonFields& f, RecipeConfig&) {
    if (!f.has(name)) return;
    AM_CHECK(f.get_int(name) == 1,
             "[config] {} = {}: tensor/context/pipeline/expert parallelism is not supported yet; set it to 1",
             f.where(name), f.raw(name).dump());
  });
}

K sequence_parallel() {
  return K::checked("sequence_parallel", "bool", "false", "must be false: it needs tensor parallelism",
                    [](const JsonFields& f, RecipeConfig&) {
                      AM_CHECK(!f.get_bool("sequence_parallel", false), "[config] {}: sequence parallelism needs "
                               "tensor parallelism (tp_size > 1), which is not supported yet; set it to false",
                               f.where("sequence_parallel"));
                    });
}

// true/false, or AutoModel's "full" / "selective" (both recompute whole layers here).
K activation_checkpointing() {
  return K::field("activation_checkpointing", &RecipeConfig::activation_checkpointing,
                  "recompute each decoder layer in backward (true, full or selective: whole layers)",
                  [](const JsonFields& f, RecipeConfig& c) {
                    auto on = bool_or_name(f, "activation_checkpointing", [&](const std::string& mode) {
                      AM_CHECK(mode == "full" || mode == "selective", "[config] {}: expected true, false, full or "
                               "selective, found '{}'", f.where("activation_checkpointing"), mode);
                      return true;
                    });
                    if (on) c.activation_checkpointing = *on;
                  })
      .type("bool or string");
}

K bucket_cap_mb() {
  return K::field("bucket_cap_mb", &RecipeConfig::bucket_cap_mb,
                  "DDP: gradient buckets of this size are all-reduced as backward fills them");
}

K reshard_after_forward() {
  return K::field("reshard_after_forward", &RecipeConfig::reshard_after_forward,
                  "fsdp2: free each layer after its forward and gather it again in backward; false keeps it "
                  "gathered until its backward");
}

RecipeSection distributed_section() {
  return {
      "distributed",
      "Data parallelism over the processes (`--nproc-per-node`, torchrun or Slurm): ddp or fsdp2.",
      {K::custom("_target_", KeyUse::kEffect, "string", "FSDP2Manager", "FSDP2Manager (fsdp2) or DDPManager (ddp)",
                 [](const JsonFields& f, RecipeConfig& c) {
                   if (f.has("_target_")) c.strategy = strategy_of(f, "distributed");
                 }),
       K::field("strategy", &RecipeConfig::strategy, "ddp or fsdp2 (used with several processes)")
           .def("from _target_, else fsdp2")
           .then([](const JsonFields& f, RecipeConfig& c) {
             AM_CHECK(c.strategy == "ddp" || c.strategy == "fsdp2", "[config] {}: expected ddp or fsdp2, found '{}'",
                      f.where("strategy"), c.strategy);
           }),
       K::field("dp_size", &RecipeConfig::dp_size, "must equal the process count; none: the process count",
                [](const JsonFields& f, RecipeConfig& c) {
                  // none (also as a quoted string) = all processes
                  if (!f.has("dp_size")) return;
                  const auto& v = f.raw("dp_size");
                  if (v.is_string() && (v == "none" || v == "None")) return;
                  c.dp_size = f.get_int("dp_size");
                })
           .validated()
           .type("integer or none")
           .def("none"),
       size_one("dp_replicate_size", "must be 1 (HSDP is not supported yet)"),
       size_one("tp_size", "must be 1 (tensor parallelism is not supported yet)"),
       size_one("pp_size", "must be 1 (pipeline parallelism is not supported)"),
       size_one("cp_size", "must be 1 (context parallelism is not supported yet)"),
       size_one("ep_size", "must be 1 (expert parallelism is not supported yet)"),
       sequence_parallel(),
       // distributed_config's value wins; this one is then not read (and reported as unused).
       activation_checkpointing().only_when([](const RecipeConfig& c) {
         return !recipe_sets(c.tree, "distributed_config", "activation_checkpointing");
       }),
       bucket_cap_mb(), reshard_after_forward()}};
}

// AutoModel's newer split: the strategy's options beside `distributed`. Read after it, so its
// values win.
RecipeSection distributed_config_section() {
  return {
      "distributed_config",
      "AutoModel's newer layout: the strategy's options (FSDP2Config, DDPConfig) beside `distributed`; its values "
      "win over distributed's.",
      {K::custom("_target_", KeyUse::kEffect, "string", "FSDP2Config",
                 "FSDP2Config (fsdp2) or DDPConfig (ddp): the strategy, unless `distributed` names one",
                 [](const JsonFields& f, RecipeConfig& c) {
                   if (!f.has("_target_")) return;
                   auto expected = strategy_of(f, "distributed_config");
                   if (!recipe_sets(c.tree, "distributed", "_target_") && !recipe_sets(c.tree, "distributed", "strategy"))
                     c.strategy = expected;
                   AM_CHECK(c.strategy == expected, "[config] {} is for {} but the strategy is {}", f.where("_target_"),
                            expected, c.strategy);
                 }),
       sequence_parallel(), activation_checkpointing(),
       K::no_effect("activation_checkpointing_scope", "checkpointing recomputes whole layers"),
       reshard_after_forward(), K::no_effect("tp_plan", kNoTensorParallel),
       K::no_effect("patch_is_packed_sequence", "packed rows always attend within their documents"),
       K::no_effect("mp_policy", "the compute dtype is model.torch_dtype; weights and optimizer state stay fp32"),
       K::no_effect("offload_policy", "CPU offload is not supported"),
       K::no_effect("autocast_dtype", "the compute dtype is model.torch_dtype"),
       K::no_effect("defer_fsdp_grad_sync", "gradients are reduced once per optimizer step"),
       K::no_effect("enable_async_tensor_parallel", kNoTensorParallel),
       K::no_effect("enable_compile", "no torch.compile; kernels are built ahead of time"),
       K::no_effect("enable_fsdp2_prefetch", kKernelChoice), K::no_effect("fsdp2_backward_prefetch_depth", kKernelChoice),
       K::no_effect("fsdp2_forward_prefetch_depth", kKernelChoice),
       K::no_effect("find_unused_parameters", "every trainable parameter gets a gradient"), bucket_cap_mb(),
       K::no_effect("backend", kBackend)}};
}

// Informational or performance-only sections: any key (those used are declared; the rest are
// reported as having no effect).
K any_key() { return K::custom("*", KeyUse::kEffect, "any", "", "any other key is accepted", nullptr); }

std::vector<RecipeSection> make_sections() {
  return {
      {"recipe", "AutoModel's recipe class.",
       {K::field("recipe", &RecipeConfig::recipe,
                 "the recipe class, short or dotted (TrainFinetuneRecipeForNextTokenPrediction); AutoModel's others "
                 "are named as not implemented; none = LLM fine-tuning")}},
      {"seed", "The seed of data order, LoRA init and dropout; wins over rng.seed.",
       {K::field("seed", &RecipeConfig::seed, "the seed")}},
      {"rng", "AutoModel's StatefulRNG.",
       {K::checked("_target_", "string", "StatefulRNG", "AutoModel's StatefulRNG", target_check<RecipeConfig>("rng")),
        K::field("seed", &RecipeConfig::seed, "the seed of data order, LoRA init and dropout"),
        K::no_effect("ranked", "every rank draws from the same seeded generators, as its data shard differs")}},
      {"packed_sequence", "Packing: several samples per row, each attending only within itself.",
       {K::field("packed_sequence_size", &RecipeConfig::packed_sequence_size,
                 "rows of at most this many tokens, documents never split; longer samples are dropped and counted; "
                 "0: no packing")
            .then([](const JsonFields& f, RecipeConfig& c) {
              AM_CHECK(c.packed_sequence_size >= 0, "[config] {} must be >= 0", f.where("packed_sequence_size"));
            }),
        K::no_effect("split_across_pack", "AutoModel 0.7 ignores it too: documents are never split")}},
      distributed_section(),
      distributed_config_section(),
      {"dist_env", "How processes meet.",
       {K::no_effect("backend", kBackend),
        K::field("timeout_minutes", &RecipeConfig::timeout_minutes,
                 "how long a rank waits for the others (joining, collectives)")
            .then([](const JsonFields&, RecipeConfig& c) {
              AM_CHECK(c.timeout_minutes > 0, "[config] dist_env.timeout_minutes must be > 0");
            })}},
      {"clip_grad_norm", "Gradient clipping by global norm.",
       {K::field("max_norm", &RecipeConfig::max_grad_norm, "the largest gradient norm")}},
      {"benchmark", "Benchmark settings; other keys are accepted.",
       {K::field("peak_tflops", &RecipeConfig::peak_tflops,
                 "the per-device peak mfu is computed against; 0: the GPU's datasheet figure, or on CPU a short "
                 "probe cached per machine"),
        any_key()}},
      {"compile", "torch.compile settings: kernels here are built ahead of time.", {any_key()}},
      {"ci", "AutoModel's CI settings.", {any_key()}},
  };
}

}  // namespace

const std::vector<RecipeSection>& runtime_sections() {
  static const std::vector<RecipeSection> sections = make_sections();
  return sections;
}

const RecipeSection* recipe_section(const std::string& name) {
  for (const auto* list : {&training_sections(), &runtime_sections()})
    for (const auto& section : *list)
      if (section.name == name) return &section;
  return nullptr;
}

}  // namespace automodel::config
