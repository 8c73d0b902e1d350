#include "automodel/config/recipe_config.h"

#include <cmath>
#include <csignal>
#include <limits>
#include <map>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/config/yaml_json.h"
#include "automodel/hf/dtype.h"
#include "automodel/hf/json_fields.h"

namespace automodel::config {
namespace {

using hf::JsonFields;

std::vector<std::string> string_or_list(const JsonFields& f, const std::string& key) {
  if (!f.has(key)) return {};
  if (f.raw(key).is_string()) return {f.get_string(key)};
  return f.get_string_list(key);
}

Component target_of(const JsonFields& f, const std::string& section, Component fallback) {
  return f.has("_target_") ? resolve_target(section, f.get_string("_target_"), f.where("_target_")) : fallback;
}

// HF tokenizers' truncation strategies for one sequence: true / longest_first / only_first cut
// it; false / do_not_truncate / none leave it whole.
bool parse_truncation(const JsonFields& f) {
  if (!f.has("truncation")) return false;
  const auto& v = f.raw("truncation");
  if (v.is_boolean()) return v.get<bool>();
  auto mode = f.get_string("truncation");
  AM_CHECK(mode != "only_second", "[config] {}: 'only_second' truncates the second of a pair of sequences; dataset "
           "rows are one sequence (use true, longest_first or only_first)", f.where("truncation"));
  AM_CHECK(mode == "longest_first" || mode == "only_first" || mode == "do_not_truncate",
           "[config] {}: expected true, false, longest_first, only_first or do_not_truncate, found '{}'",
           f.where("truncation"), mode);
  return mode != "do_not_truncate";
}

// HF's padding strategies: only max_length changes anything here (every batch padded to the
// length); longest / true / do_not_pad / false all pad to the batch's longest row, as AutoModel's
// collater does.
bool parse_pad_to_max_length(const JsonFields& f, int64_t seq_length) {
  if (!f.has("padding")) return false;
  const auto& v = f.raw("padding");
  if (v.is_boolean()) return false;
  auto mode = f.get_string("padding");
  AM_CHECK(mode == "max_length" || mode == "longest" || mode == "do_not_pad",
           "[config] {}: expected true, false, longest, max_length or do_not_pad, found '{}'", f.where("padding"),
           mode);
  AM_CHECK(mode != "max_length" || seq_length > 0, "[config] {}: padding: max_length needs seq_length (the length "
           "to pad to)", f.where("padding"));
  return mode == "max_length";
}

DatasetSection parse_dataset(const JsonFields& f, const std::string& section) {
  DatasetSection d;
  d.label = section;
  d.kind = target_of(f, section, Component::kChatDataset);
  for (const char* key : {"path_or_dataset_id", "path_or_dataset", "dataset_name", "data_files"})
    if (f.has(key)) d.path = f.get_string(key);
  d.split = f.get_string("split", "");
  if (f.has("column_mapping")) {
    const auto& m = f.raw("column_mapping");
    AM_CHECK(m.is_object(), "[config] {}: expected a mapping like {{question: prompt}}", f.where("column_mapping"));
    for (const auto& [role, column] : m.items()) {
      AM_CHECK(column.is_string(), "[config] {}: column name for '{}' must be a string", f.where("column_mapping"),
               role);
      d.column_mapping[role] = column.get<std::string>();
    }
  }
  d.seq_length = f.get_int("seq_length", 0);
  AM_CHECK(d.seq_length >= 0, "[config] {} must be >= 0", f.where("seq_length"));
  d.truncation = parse_truncation(f);
  d.pad_to_max_length = parse_pad_to_max_length(f, d.seq_length);
  d.pad_to_multiple_of = f.get_int("pad_seq_len_divisible", 1);
  AM_CHECK(d.pad_to_multiple_of >= 1, "[config] {} must be >= 1", f.where("pad_seq_len_divisible"));
  d.use_hf_chat_template = f.get_bool("use_hf_chat_template", false);
  d.answer_only_loss_mask = f.get_bool("answer_only_loss_mask", true);
  d.chat_template = f.get_string("chat_template", "");
  if (f.has("tokenizer")) {
    const auto& t = f.raw("tokenizer");
    d.tokenizer = t.is_string() ? t.get<std::string>() : f.child("tokenizer").get_string("pretrained_model_name_or_path");
  }
  d.limit_samples = f.get_int("limit_dataset_samples", f.get_int("num_samples_limit", -1));
  d.skip_invalid_samples = f.get_bool("skip_invalid_samples", false);
  d.text_column = f.get_string("text_column", "text");
  if (d.kind == Component::kMockDataset) {
    d.mock_vocab_size = f.get_int("vocab_size", 100);
    d.mock_seq_len = f.get_int("seq_len", 512);
    d.mock_num_samples = f.get_int("num_samples", 1000);
    d.seed = static_cast<uint64_t>(f.get_int("seed", 0));
  } else {
    AM_CHECK(!d.path.empty(), "[config] {}: set path_or_dataset_id (a local .jsonl/.json/.csv/.parquet file or folder, or a hub dataset id)",
             f.where("path_or_dataset_id"));
  }
  return d;
}

// Tensor/context/pipeline/expert parallel sizes other than 1 are not implemented.
void reject_parallelism(const JsonFields& f) {
  for (const char* key : {"tp_size", "cp_size", "pp_size", "ep_size", "dp_replicate_size"}) {
    if (!f.has(key)) continue;
    AM_CHECK(f.get_int(key) == 1,
             "[config] {} = {}: tensor/context/pipeline/expert parallelism is not supported yet; set it to 1",
             f.where(key), f.raw(key).dump());
  }
}

// true/false, or AutoModel's "full" / "selective" (both recompute whole layers here).
bool activation_checkpointing(const JsonFields& f) {
  if (!f.has("activation_checkpointing")) return false;
  const auto& v = f.raw("activation_checkpointing");
  if (v.is_boolean()) return v.get<bool>();
  auto mode = f.get_string("activation_checkpointing");
  AM_CHECK(mode == "full" || mode == "selective", "[config] {}: expected true, false, full or selective, found '{}'",
           f.where("activation_checkpointing"), mode);
  return true;
}

// YAML readers pass bytes through unchecked, and nlohmann throws a raw type_error when a string
// that is not UTF-8 is printed (error messages, config.yaml): reject it here, naming the field.
void check_utf8(const nlohmann::json& v, const std::string& label, const std::string& path) {
  auto check = [&](const std::string& s, const std::string& where) {
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
      AM_FAIL("[config] {}: {} is not valid UTF-8 (save the recipe as UTF-8)", label, where);
    }
  };
  if (v.is_string()) {
    check(v.get_ref<const std::string&>(), "field '" + path + "'");
  } else if (v.is_object()) {
    for (const auto& [key, item] : v.items()) {
      check(key, "a key under '" + path + "'");
      check_utf8(item, label, path.empty() ? key : path + "." + key);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) check_utf8(v[i], label, path + "[" + std::to_string(i) + "]");
  }
}

}  // namespace

RecipeConfig parse_recipe(nlohmann::json tree, const std::string& label) {
  check_utf8(tree, label, "");
  auto ignored = validate_schema(tree, label);
  RecipeConfig c;
  c.ignored = std::move(ignored);
  c.label = label;
  c.tree = tree;
  auto root = std::make_shared<const nlohmann::json>(std::move(tree));
  auto read = std::make_shared<std::set<std::string>>();
  JsonFields f(root, label);
  f.record_reads(read);
  auto section = [&](const std::string& name) {
    return f.has(name) ? f.child(name) : JsonFields(std::make_shared<const nlohmann::json>(nlohmann::json::object()),
                                                   label, name + ".");
  };

  auto model = f.child("model");
  target_of(model, "model", Component::kCausalLM);
  c.model.name_or_path = model.get_string("pretrained_model_name_or_path");
  c.model.revision = model.get_string("revision", "main");
  c.model.torch_dtype = model.get_string("torch_dtype", "auto");
  AM_CHECK(c.model.torch_dtype == "auto" || hf::parse_compute_dtype_alias(c.model.torch_dtype),
           "[config] {}: expected auto, {}; found '{}'", model.where("torch_dtype"), hf::kComputeDtypeNames,
           c.model.torch_dtype);
  c.model.device = model.get_string("device", "auto");
  c.model.attn_implementation = model.get_string("attn_implementation", c.model.attn_implementation);

  c.dataset = parse_dataset(f.child("dataset"), "dataset");
  if (f.has("validation_dataset")) c.validation_dataset = parse_dataset(f.child("validation_dataset"), "validation_dataset");
  c.dataloader.shuffle = section("dataloader").get_bool("shuffle", false);

  auto ss = section("step_scheduler");
  auto& s = c.step_scheduler;
  s.global_batch_size = ss.get_int("global_batch_size", s.global_batch_size);
  s.local_batch_size = ss.get_int("local_batch_size", s.local_batch_size);
  s.max_steps = ss.get_int("max_steps", s.max_steps);
  // max_steps alone runs as many epochs as it takes; num_epochs alone defaults to 1.
  s.num_epochs = ss.get_int("num_epochs", s.max_steps > 0 ? std::numeric_limits<int32_t>::max() : 1);
  s.val_every_steps = ss.get_int("val_every_steps", s.val_every_steps);
  s.ckpt_every_steps = ss.get_int("ckpt_every_steps", s.ckpt_every_steps);
  if (ss.has("preemption_signal")) {
    const auto& v = ss.raw("preemption_signal");
    static const std::map<std::string, int> kSignals = {{"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
                                                        {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}};
    if (v.is_number_integer()) {
      // A number beyond the signal range would be truncated into some other signal.
      auto number = ss.get_int("preemption_signal");
      AM_CHECK(number >= 1 && number <= 64, "[config] {}: expected a signal number in [1, 64] or a name, found {}",
               ss.where("preemption_signal"), number);
      s.preemption_signal = static_cast<int>(number);
    } else {
      auto name = ss.get_string("preemption_signal");
      auto it = kSignals.find(name.starts_with("SIG") ? name : "SIG" + name);
      AM_CHECK(it != kSignals.end(), "[config] {}: '{}' is not a signal; use SIGUSR1, SIGUSR2, SIGTERM or SIGINT",
               ss.where("preemption_signal"), name);
      s.preemption_signal = it->second;
    }
  }
  AM_CHECK(s.local_batch_size > 0 && s.global_batch_size > 0 && s.global_batch_size % s.local_batch_size == 0,
           "[config] {}: step_scheduler.global_batch_size ({}) must be a positive multiple of local_batch_size ({})",
           label, s.global_batch_size, s.local_batch_size);
  AM_CHECK(s.num_epochs > 0 || s.max_steps > 0, "[config] {}: step_scheduler needs num_epochs > 0 or max_steps > 0",
           label);
  s.grad_acc_steps = ss.get_optional_int("grad_acc_steps");
  AM_CHECK(!s.grad_acc_steps || *s.grad_acc_steps > 0, "[config] {} must be > 0", ss.where("grad_acc_steps"));
  // AutoModel sets the loader's batch size from local_batch_size; a different one is a mistake.
  for (const char* loader : {"dataloader", "validation_dataloader"}) {
    auto dl = section(loader);
    if (auto batch = dl.get_optional_int("batch_size"))
      AM_CHECK(*batch == s.local_batch_size, "[config] {} is {} but step_scheduler.local_batch_size is {}; batches "
               "hold local_batch_size rows (remove batch_size or make them equal)", dl.where("batch_size"), *batch,
               s.local_batch_size);
  }

  auto opt = section("optimizer");
  auto kind = target_of(opt, "optimizer", Component::kAdamW);
  c.optimizer.decoupled_weight_decay = kind == Component::kAdamW;
  c.optimizer.lr = opt.get_double("lr", c.optimizer.lr);
  c.optimizer.weight_decay = opt.get_double("weight_decay", kind == Component::kAdamW ? 0.01 : 0.0);
  c.optimizer.eps = opt.get_double("eps", c.optimizer.eps);
  AM_CHECK(std::isfinite(c.optimizer.lr) && c.optimizer.lr >= 0, "[config] {}: expected a finite learning rate >= 0, "
           "found {}", opt.where("lr"), c.optimizer.lr);
  AM_CHECK(std::isfinite(c.optimizer.weight_decay) && std::isfinite(c.optimizer.eps) && c.optimizer.eps > 0,
           "[config] {}: weight_decay must be finite and eps finite and > 0 (found {} and {})", opt.where("eps"),
           c.optimizer.weight_decay, c.optimizer.eps);
  if (opt.has("betas")) {
    auto betas = opt.get_double_list("betas");
    AM_CHECK(betas.size() == 2, "[config] {}: expected two values [beta1, beta2], found {}", opt.where("betas"),
             betas.size());
    c.optimizer.beta1 = betas[0];
    c.optimizer.beta2 = betas[1];
  }
  AM_CHECK(!opt.get_bool("amsgrad", false), "[config] {}: amsgrad is not supported", opt.where("amsgrad"));
  AM_CHECK(!opt.get_bool("maximize", false), "[config] {}: maximize is not supported (training minimizes the loss)",
           opt.where("maximize"));

  if (f.has("lr_scheduler")) {
    auto lr = f.child("lr_scheduler");
    auto& l = c.lr_scheduler;
    l.enabled = true;
    l.decay_style = lr.get_string("lr_decay_style", l.decay_style);
    std::vector<std::string> styles = {"constant", "linear", "cosine", "WSD"};
    AM_CHECK(std::find(styles.begin(), styles.end(), l.decay_style) != styles.end(),
             "[config] {}: '{}' is not a decay style; supported: {}", lr.where("lr_decay_style"), l.decay_style,
             join(styles, ", "));
    l.warmup_steps = lr.get_int("lr_warmup_steps", -1);
    l.decay_steps = lr.get_int("lr_decay_steps", -1);
    l.min_lr = lr.get_double("min_lr", -1);
    l.init_lr = lr.get_double("init_lr", 0.0);
    l.wsd_decay_steps = lr.get_int("wsd_decay_steps", -1);
    l.wsd_decay_style = lr.get_string("lr_wsd_decay_style", "linear");
  }

  auto loss = section("loss_fn");
  target_of(loss, "loss_fn", Component::kMaskedCrossEntropy);
  c.loss.chunk_len = loss.get_int("chunk_len", c.loss.chunk_len);
  AM_CHECK(c.loss.chunk_len >= 0, "[config] {} must be >= 0 (0 = automatic)", loss.where("chunk_len"));
  AM_CHECK(loss.get_int("ignore_index", -100) == -100, "[config] {}: only -100 is supported",
           loss.where("ignore_index"));
  // AutoModel's loop divides summed token losses by the step's label tokens, which needs "sum".
  AM_CHECK(loss.get_string("reduction", "sum") == "sum", "[config] {}: expected sum (the loss is summed over tokens "
           "and divided by the optimizer step's label tokens), found '{}'", loss.where("reduction"),
           loss.get_string("reduction", "sum"));

  if (f.has("peft")) {
    auto p = f.child("peft");
    target_of(p, "peft", Component::kLora);
    auto& l = c.peft;
    l.enabled = true;
    l.target_modules = string_or_list(p, "target_modules");
    l.exclude_modules = string_or_list(p, "exclude_modules");
    l.match_all_linear = p.get_bool("match_all_linear", false);
    if (l.target_modules.empty() && !l.match_all_linear) l.target_modules = {"*_proj"};
    l.dim = p.get_int("dim", l.dim);
    l.alpha = p.get_double("alpha", l.alpha);
    l.dropout = p.get_double("dropout", l.dropout);
    l.dropout_position = p.get_string("dropout_position", l.dropout_position);
    l.lora_A_init = p.get_string("lora_A_init", l.lora_A_init);
    AM_CHECK(l.dim > 0, "[config] {} must be > 0", p.where("dim"));
    AM_CHECK(l.dropout >= 0 && l.dropout < 1, "[config] {} must be in [0, 1)", p.where("dropout"));
    AM_CHECK(l.dropout_position == "pre" || l.dropout_position == "post", "[config] {}: expected pre or post, found '{}'",
             p.where("dropout_position"), l.dropout_position);
    AM_CHECK(l.lora_A_init == "xavier" || l.lora_A_init == "kaiming",
             "[config] {}: expected xavier or kaiming, found '{}'", p.where("lora_A_init"), l.lora_A_init);
    AM_CHECK(!p.get_bool("use_dora", false), "[config] {}: DoRA is not supported yet", p.where("use_dora"));
  }

  auto ck = section("checkpoint");
  c.checkpoint.enabled = ck.get_bool("enabled", true);
  c.checkpoint.checkpoint_dir = ck.get_string("checkpoint_dir", c.checkpoint.checkpoint_dir);
  if (ck.has("save_consolidated")) {
    const auto& v = ck.raw("save_consolidated");
    std::string mode = v.is_boolean() ? (v.get<bool>() ? "every" : "false") : ck.get_string("save_consolidated");
    AM_CHECK(mode == "every" || mode == "true" || mode == "final" || mode == "false", "[config] {}: expected true, "
             "false, final or every, found '{}'", ck.where("save_consolidated"), mode);
    c.checkpoint.save_consolidated = mode == "final"   ? config::ConsolidatedSaves::kFinal
                                     : mode == "false" ? config::ConsolidatedSaves::kNever
                                                       : config::ConsolidatedSaves::kEvery;
  }
  c.checkpoint.restore_from = ck.get_string("restore_from", "");
  auto format = ck.get_string("model_save_format", "safetensors");
  AM_CHECK(format == "safetensors" || format == "torch_save", "[config] {}: expected safetensors or torch_save, "
           "found '{}'", ck.where("model_save_format"), format);
  // torch_save is PyTorch's own (DCP) format; checkpoints here are always HF safetensors.
  if (format == "torch_save")
    c.ignored.push_back("accepted, no effect here: checkpoint.model_save_format: torch_save (saved as safetensors)");

  auto packed = section("packed_sequence");
  c.packed_sequence_size = packed.get_int("packed_sequence_size", 0);
  AM_CHECK(c.packed_sequence_size >= 0, "[config] {} must be >= 0", packed.where("packed_sequence_size"));

  auto dist = section("distributed");
  // Newer AutoModel recipes put the strategy's options in distributed_config (FSDP2Config, ...).
  auto options = section("distributed_config");
  auto manager = target_of(dist, "distributed", target_of(options, "distributed_config", Component::kFsdp2));
  c.strategy = dist.get_string("strategy", manager == Component::kDdp ? "ddp" : "fsdp2");
  AM_CHECK(c.strategy == "ddp" || c.strategy == "fsdp2", "[config] {}: expected ddp or fsdp2, found '{}'",
           dist.where("strategy"), c.strategy);
  if (options.has("_target_")) {
    auto expected = target_of(options, "distributed_config", Component::kFsdp2) == Component::kDdp ? "ddp" : "fsdp2";
    AM_CHECK(c.strategy == expected, "[config] {} is for {} but the strategy is {}", options.where("_target_"),
             expected, c.strategy);
  }
  c.bucket_cap_mb = dist.get_double("bucket_cap_mb", c.bucket_cap_mb);
  // checked against the process count; none (also as a quoted string) = all processes
  const auto none = [](const std::string& v) { return v == "none" || v == "None"; };
  if (dist.has("dp_size") && !(dist.raw("dp_size").is_string() && none(dist.get_string("dp_size"))))
    c.dp_size = dist.get_int("dp_size");
  c.reshard_after_forward = options.get_bool("reshard_after_forward", dist.get_bool("reshard_after_forward", true));
  c.bucket_cap_mb = options.get_double("bucket_cap_mb", c.bucket_cap_mb);
  c.timeout_minutes = section("dist_env").get_double("timeout_minutes", c.timeout_minutes);
  AM_CHECK(c.timeout_minutes > 0, "[config] dist_env.timeout_minutes must be > 0");
  reject_parallelism(dist);
  for (const auto* fields : {&dist, &options})
    AM_CHECK(!fields->get_bool("sequence_parallel", false), "[config] {}: sequence parallelism needs tensor "
             "parallelism (tp_size > 1), which is not supported yet; set it to false", fields->where("sequence_parallel"));
  c.activation_checkpointing = activation_checkpointing(options.has("activation_checkpointing") ? options : dist);
  c.max_grad_norm = section("clip_grad_norm").get_double("max_norm", 1.0);
  c.seed = static_cast<uint64_t>(f.get_int("seed", section("rng").get_int("seed", 42)));
  c.peak_tflops = section("benchmark").get_double("peak_tflops", 0.0);
  if (root->contains("tensorboard")) c.tensorboard = parse_tensorboard(f, c.checkpoint.checkpoint_dir);
  if (root->contains("mlflow")) c.mlflow = parse_mlflow(f, (*root)["mlflow"]);
  if (root->contains("wandb")) c.wandb = parse_wandb(f, c.model.name_or_path);
  auto without_effect = keys_without_effect(*root, *read);
  c.ignored.insert(c.ignored.end(), without_effect.begin(), without_effect.end());
  return c;
}

RecipeConfig load_recipe(const std::filesystem::path& path, const std::vector<Override>& overrides) {
  auto tree = load_yaml_file(path);
  for (const auto& o : overrides) apply_override(tree, o);
  interpolate_env(tree);
  return parse_recipe(std::move(tree), path.string());
}

}  // namespace automodel::config
