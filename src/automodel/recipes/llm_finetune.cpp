#include "automodel/recipes/llm_finetune.h"

#include <ATen/Context.h>
#include <ATen/TensorOperators.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/tensor.h>
#include <c10/core/DeviceGuard.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <nlohmann/json.hpp>

#include "automodel/checkpoint/dir_lock.h"
#include "automodel/checkpoint/flat_shards.h"
#include "automodel/checkpoint/hf_export.h"
#include "automodel/checkpoint/run_dir.h"
#include "automodel/checkpoint/training_state.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/data/dataset.h"
#include "automodel/data/dataset_cache.h"
#include "automodel/data/hub_dataset.h"
#include "automodel/data/loader.h"
#include "automodel/data/token_ids.h"
#include "automodel/data/packing.h"
#include "automodel/dist/ddp.h"
#include "automodel/dist/fsdp.h"
#include "automodel/dist/dist_env.h"
#include "automodel/dist/process_group.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/models/common/attention.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"
#include "automodel/train/adamw.h"
#include "automodel/train/linear_cross_entropy.h"
#include "automodel/train/lr_schedule.h"
#include "automodel/train/metrics.h"
#include "automodel/train/peak_flops.h"
#include "automodel/train/plots/training_plots.h"
#include "automodel/train/stop_signals.h"
#include "automodel/train/trackers/trackers.h"

namespace fs = std::filesystem;

namespace automodel::recipes {
namespace {

struct Setup {
  c10::Device device = c10::Device(c10::kCPU);
  at::ScalarType compute = at::kFloat;
};

Setup resolve_setup(const config::ModelSection& m) {
  Setup s;
  s.device = m.device == "auto" ? (at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU))
                                : parse_device(m.device);
  if (m.torch_dtype == "auto")
    s.compute = s.device.is_cuda() ? at::kBFloat16 : at::kFloat;
  else
    s.compute = parse_compute_dtype(m.torch_dtype);
  models::set_attention_impl(models::parse_attention_impl(m.attn_implementation));
  return s;
}

// Tokenizes `section` or reads it from the dataset cache (keyed by data, tokenizer, section and
// pack size). A cache that cannot be written only costs the next run the tokenization.
data::TokenizedDataset tokenized(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tok,
                                 const std::string& tokenizer_fp, int64_t pack_size) {
  auto dir = data::dataset_cache_dir();
  if (dir.empty()) return data::build_dataset(section, tok, pack_size);
  auto file = dir / (data::dataset_cache_key(section, tokenizer_fp, pack_size) + ".bin");
  if (auto cached = data::load_cached_dataset(file)) {
    log_info("{}: tokenized samples from the cache ({})", section.label, file.string());
    return std::move(*cached);
  }
  auto dataset = data::build_dataset(section, tok, pack_size);
  try {
    data::save_cached_dataset(file, dataset);
  } catch (const std::exception& e) {
    log_warn("{}: could not write the dataset cache: {}", section.label, e.what());
  }
  return dataset;
}

// The section with a hub dataset id replaced by its folder in the HF cache (downloaded if missing).
config::DatasetSection with_local_path(config::DatasetSection section) {
  if (section.kind != config::Component::kMockDataset)
    section.path = data::resolve_dataset_path(section.path, section.split);
  return section;
}

// `tok` may be null for the mock dataset (random ids need no tokenizer).
// `vocab`: the model's vocabulary size and the config.json it comes from; every id must fit.
data::DataLoader make_loader(const config::DatasetSection& section, const tokenizer::LoadedTokenizer* tok,
                             const std::string& tokenizer_fp, int64_t pack_size, int64_t batch_size, bool shuffle,
                             uint64_t seed, bool drop_last, const std::pair<int64_t, std::string>& vocab) {
  auto dataset = tok ? tokenized(section, *tok, tokenizer_fp, pack_size) : data::mock_dataset(section);
  data::check_token_ids(dataset, section, vocab.first, vocab.second, tok ? static_cast<int64_t>(tok->tokenizer.vocab_size()) : 0);
  const auto& st = dataset.stats;
  log_info("{}: {} samples from {} rows, {} tokens ({} in the loss){}", section.label, st.samples, st.rows,
           human_count(static_cast<double>(st.tokens)), human_count(static_cast<double>(st.target_tokens)),
           st.skipped ? fmt::format("; skipped {} invalid (first: {})", st.skipped, st.first_skip_reason) : "");
  if (st.unsupervised_after_truncation)
    log_info("{}: skipped {} row(s) left with no token in the loss after truncation", section.label,
             st.unsupervised_after_truncation);
  if (st.longer_than_pack)
    log_info("{}: dropped {} sample(s) longer than packed_sequence_size {} (as AutoModel's drop_long_samples)",
             section.label, st.longer_than_pack, pack_size);
  std::vector<data::TrainingRow> rows;
  if (pack_size > 0) {
    rows = data::pack_samples(dataset.samples, pack_size);
    log_info("{}: packed into {} rows of <= {} tokens", section.label, rows.size(), pack_size);
  } else {
    for (const auto& s : dataset.samples) rows.push_back(data::to_row(s));
  }
  int32_t pad = tok ? tok->pad_id.value_or(tok->eos_id.value_or(0)) : 0;
  data::BatchShape shape;
  if (section.pad_to_max_length) shape.min_length = pack_size > 0 ? pack_size : section.seq_length;
  shape.multiple = section.pad_to_multiple_of;
  return data::DataLoader(std::move(rows), batch_size, shuffle, seed, pad, drop_last, shape);
}

at::Tensor to_tensor(const std::vector<int32_t>& v, int64_t rows, int64_t len, c10::Device device) {
  auto t = at::from_blob(const_cast<int32_t*>(v.data()), {rows, len}, at::TensorOptions().dtype(at::kInt));
  return t.to(device, at::kLong);
}

// bf16 (or fp16) compute over fp32 weights for the scope of a forward.
class AutocastScope {
 public:
  explicit AutocastScope(const Setup& s) : on_(s.compute != at::kFloat), cuda_(s.device.is_cuda()) {
    if (!on_) return;
    if (cuda_) {
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(s.compute);
    }
  }
  ~AutocastScope() {
    if (!on_) return;
    if (cuda_) at::autocast::set_enabled(false);
    else at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }

 private:
  bool on_, cuda_;
};

class Trainer {
 public:
  explicit Trainer(const config::RecipeConfig& c) : c_(c), setup_(resolve_setup(c.model)) {}
  FinetuneSummary run();
  // Multi-process runs: tells the other ranks why this one stops; after a lost collective,
  // returns what is known of the rank(s) that went away ("" in a single process).
  std::string report_failure(const std::string& message, bool lost_contact);

 private:
  void build();
  void setup_parallelism();
  void check_same_recipe();
  // Every rank reports its own state size (the benchmark compares them), so not log_info only.
  void print_on_every_rank(const std::string& line) { fmt::print(stderr, "[info] {}\n", line); }
  struct MicroLoss {
    at::Tensor token_sum, aux;
  };
  MicroLoss forward_loss(const data::Batch& batch);
  std::pair<double, int64_t> validate();  // mean token loss, label tokens
  void run_validation(train::MetricsLog* log, FinetuneSummary& summary);
  void save(bool final_save);
  void load_model_state(const fs::path& dir);
  void load_model_shards(const fs::path& dir);
  void write_model(const fs::path& model_dir, bool consolidated);
  void write_model_by_unit(const fs::path& model_dir, bool consolidated);
  // The stop signal any rank received (agreed with an all-reduce), or 0.
  int agreed_stop_signal();
  // Whether every trainable parameter is finite on every rank.
  bool parameters_finite();

  const config::RecipeConfig& c_;
  Setup setup_;
  fs::path model_folder_;
  std::optional<tokenizer::LoadedTokenizer> tokenizer_;
  std::unique_ptr<models::CausalLM> model_;
  std::vector<std::string> lora_targets_;
  std::unique_ptr<train::AdamW> optimizer_;
  std::optional<data::DataLoader> train_loader_, val_loader_;
  int64_t grad_acc_ = 1, total_steps_ = 0;
  double flops_per_token_ = 0;
  checkpoint::TrainingState state_;
  fs::path last_checkpoint_;
  dist::DistEnv env_ = dist::read_dist_env();
  std::optional<c10::DeviceGuard> current_device_;
  std::unique_ptr<dist::ProcessGroup> group_;  // null in a single process
  std::unique_ptr<dist::FullyShardedModel> fsdp_;  // fsdp2 with several processes
  std::unique_ptr<dist::GradientSynchronizer> ddp_;  // ddp with several processes
  std::vector<std::string> trainable_names_;
  std::optional<checkpoint::CheckpointDirLock> dir_lock_;  // rank 0: one run per checkpoint_dir
  int64_t world() const { return env_.world_size; }
  bool leader() const { return env_.rank == 0; }
};

// Every rank must run the same recipe (after overrides and ${ENV}): compares a hash of it.
void Trainer::check_same_recipe() {
  auto text = c_.tree.dump();
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  auto all = group_->all_gather(at::tensor({static_cast<int64_t>(h)}, at::kLong));
  std::vector<std::string> differ;
  for (int r = 0; r < world(); ++r)
    if (all[static_cast<size_t>(r)].item<int64_t>() != all[0].item<int64_t>()) differ.push_back(std::to_string(r));
  AM_CHECK(differ.empty(), "[dist] rank {}: the recipe differs between ranks (rank(s) {} differ from rank 0); every "
           "rank must get the same recipe, overrides and environment", env_.rank, join(differ, ", "));
}

void Trainer::build() {
  // First: a checkpoint_dir that another run holds, or that cannot be written, fails before any
  // data or model is loaded.
  if (leader()) {
    dir_lock_.emplace(c_.checkpoint.checkpoint_dir);
    if (!dir_lock_->taken_over_from().empty())
      log_info("{}: taking over from a run that ended without releasing it ({})", c_.checkpoint.checkpoint_dir,
               dir_lock_->taken_over_from());
  }
  model_folder_ = hf::resolve_model_folder(c_.model.name_or_path, c_.model.revision);
  bool mock_only = c_.dataset.kind == config::Component::kMockDataset &&
                   (!c_.validation_dataset || c_.validation_dataset->kind == config::Component::kMockDataset);
  fs::path tokenizer_folder =
      c_.dataset.tokenizer.empty() ? model_folder_ : hf::resolve_model_folder(c_.dataset.tokenizer);
  std::string tokenizer_fp;
  if (!mock_only) {
    tokenizer_ = tokenizer::load_tokenizer(tokenizer_folder);
    tokenizer_fp = data::tokenizer_fingerprint(tokenizer_folder);
  }
  const tokenizer::LoadedTokenizer* tok = tokenizer_ ? &*tokenizer_ : nullptr;
  const auto& ss = c_.step_scheduler;
  if (env_.distributed()) {
    // One GPU per process: local rank r trains on cuda:r (unless the recipe names a device).
    if (setup_.device.is_cuda() && c_.model.device == "auto")
      setup_.device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(
                                                  env_.local_rank % std::max<int64_t>(1, at::getNumGPUs())));
    if (setup_.device.is_cuda()) current_device_.emplace(setup_.device);  // for anything created without one
    group_ = std::make_unique<dist::ProcessGroup>(
        env_, std::chrono::milliseconds(static_cast<int64_t>(c_.timeout_minutes * 60'000)), setup_.device);
    if (!leader()) set_log_level(LogLevel::kWarn);  // one rank logs
    check_same_recipe();
  }
  for (const auto& note : c_.ignored) log_info("{}", note);
  AM_CHECK(!c_.dp_size || *c_.dp_size == world(),
           "[config] {}: distributed.dp_size is {} but {} process(es) run; set it to {} or none", c_.label,
           c_.dp_size.value_or(0), world(), world());
  AM_CHECK(ss.global_batch_size % (ss.local_batch_size * world()) == 0,
           "[config] {}: step_scheduler.global_batch_size ({}) must be a multiple of local_batch_size ({}) x "
           "processes ({})",
           c_.label, ss.global_batch_size, ss.local_batch_size, world());
  grad_acc_ = ss.global_batch_size / (ss.local_batch_size * world());
  AM_CHECK(!ss.grad_acc_steps || *ss.grad_acc_steps == grad_acc_,
           "[config] {}: step_scheduler.grad_acc_steps is {} but global_batch_size / (local_batch_size x data-parallel "
           "size) = {} / ({} x {}) = {}; remove grad_acc_steps or make them agree",
           c_.label, ss.grad_acc_steps.value_or(0), ss.global_batch_size, ss.local_batch_size, world(), grad_acc_);
  const auto model_config = hf::load_model_config(model_folder_);
  const std::pair<int64_t, std::string> vocab{models::config_vocab_size(model_config), model_config.label};
  train_loader_.emplace(make_loader(with_local_path(c_.dataset), tok, tokenizer_fp, c_.packed_sequence_size, ss.local_batch_size,
                                    c_.dataloader.shuffle, c_.seed, /*drop_last=*/true, vocab));
  int64_t per_epoch = train_loader_->batches_per_epoch() / (grad_acc_ * world());
  AM_CHECK(per_epoch > 0,
           "[train] {}: the dataset gives {} rows, fewer than one global batch ({}); lower "
           "step_scheduler.global_batch_size or add data",
           c_.label, train_loader_->num_rows(), ss.global_batch_size);
  total_steps_ = ss.num_epochs * per_epoch;
  if (ss.max_steps > 0) total_steps_ = std::min(total_steps_, ss.max_steps);
  if (c_.validation_dataset)
    val_loader_.emplace(make_loader(with_local_path(*c_.validation_dataset), tok, tokenizer_fp, c_.packed_sequence_size, ss.local_batch_size,
                                    false, c_.seed, /*drop_last=*/false, vocab));

  models::LoadOptions load;
  load.device = setup_.device;
  // LoRA: the frozen base is stored in the compute dtype (zero-copy from the file on CPU when
  // the dtypes match); full fine-tuning keeps fp32 master weights and autocasts.
  load.dtype = c_.peft.enabled ? setup_.compute : at::kFloat;
  load.read_only_weights = c_.peft.enabled;
  model_ = models::load_pretrained(model_folder_.string(), load);
  model_->set_activation_checkpointing(c_.activation_checkpointing);
  if (c_.peft.enabled) lora_targets_ = peft::apply_lora(*model_, c_.peft, c_.seed);
  // Counted now: under fsdp2 the model's own tensors are emptied once sharded.
  flops_per_token_ = train::train_flops_per_token(model_->num_parameters(), model_->num_layers(),
                                                  model_->config().fields().get_int("hidden_size", 0),
                                                  c_.packed_sequence_size > 0 ? c_.packed_sequence_size : 512);
  int64_t n_train = 0;
  for (const auto& p : model_->named_parameters()) {
    bool train = !c_.peft.enabled || p.name.find(".lora_") != std::string::npos;
    p.tensor->set_requires_grad(train);
    if (!train) continue;
    trainable_names_.push_back(p.name);
    n_train += p.tensor->numel();
  }
  log_info("model {}: {} parameters, {} trainable ({}), compute {} on {}", model_->config().model_type,
           human_count(static_cast<double>(model_->num_parameters())), human_count(static_cast<double>(n_train)),
           c_.peft.enabled ? fmt::format("LoRA r={} on {} modules", c_.peft.dim, lora_targets_.size()) : "full",
           scalar_type_name(setup_.compute), setup_.device.str());
}

// After any resumed weights are in the (whole) model: shard it for fsdp2, build the optimizer
// over what this rank updates, and report the training state each rank holds.
void Trainer::setup_parallelism() {
  std::vector<train::TrainableParameter> trainable;
  double param_bytes = 0, grad_bytes = 0;
  if (group_ && c_.strategy == "fsdp2") {
    fsdp_ = std::make_unique<dist::FullyShardedModel>(
        *model_, *group_, trainable_names_,
        dist::FsdpOptions{c_.reshard_after_forward, c_.activation_checkpointing});
    trainable = fsdp_->trainable_shards();
    param_bytes = fsdp_->shard_bytes();
  } else {
    for (const auto& p : model_->named_parameters()) {
      param_bytes += static_cast<double>(p.tensor->nbytes());
      if (p.tensor->requires_grad()) trainable.push_back({p.name, p.tensor});
    }
  }
  for (const auto& p : trainable) grad_bytes += static_cast<double>(p.tensor->nbytes());
  if (!fsdp_) param_bytes += grad_bytes;
  optimizer_ = std::make_unique<train::AdamW>(std::move(trainable), c_.optimizer);
  if (group_ && !fsdp_) ddp_ = std::make_unique<dist::GradientSynchronizer>(*group_, optimizer_->params(), c_.bucket_cap_mb);
  // Adam keeps two fp32 moments per trainable element.
  print_on_every_rank(fmt::format("rank {}: training state {} = {:.0f} B (parameters + gradients) + {:.0f} B "
                               "(optimizer), strategy {}",
                               env_.rank, human_bytes(param_bytes + 2 * grad_bytes), param_bytes, 2 * grad_bytes,
                               group_ ? c_.strategy : "single process"));
  if (env_.distributed()) at::manual_seed(c_.seed + static_cast<uint64_t>(env_.rank));  // dropout differs per rank
}

// Forward of one micro-batch: the summed token CE (never the full logits) and the model's
// auxiliary loss (MoE load balancing), if any.
Trainer::MicroLoss Trainer::forward_loss(const data::Batch& b) {
  models::ModelInputs in;
  in.input_ids = to_tensor(b.ids, b.rows, b.length, setup_.device);
  in.position_ids = to_tensor(b.positions, b.rows, b.length, setup_.device);
  if (b.packed) in.document_ids = to_tensor(b.documents, b.rows, b.length, setup_.device);
  auto targets = to_tensor(b.targets, b.rows, b.length, setup_.device);
  AutocastScope autocast(setup_);
  auto out = model_->forward(in);
  MicroLoss loss;
  loss.token_sum = train::linear_cross_entropy_sum(out.hidden, model_->output_embedding(), targets, c_.loss.chunk_len);
  // Padding is routed like any token; the load-balancing loss counts real tokens only (as HF
  // with an attention mask), so it does not depend on how the batch is split or padded.
  at::Tensor real_tokens;  // (B, T) bool, only when the batch has padding
  if (b.real_tokens < b.rows * b.length) {
    auto lengths = at::tensor(b.row_lengths, at::kInt).to(setup_.device).unsqueeze(1);
    real_tokens = at::arange(b.length, lengths.options()).unsqueeze(0) < lengths;
  }
  loss.aux = model_->auxiliary_loss(out, real_tokens);
  return loss;
}

std::pair<double, int64_t> Trainer::validate() {
  at::NoGradGuard no_grad;
  model_->set_training(false);
  if (fsdp_) fsdp_->gather_root(false);
  double total = 0;
  int64_t tokens = 0;
  // Rank r takes batches r, r + world, ...; under fsdp2 every forward gathers layers with all
  // ranks, so a rank past the last batch runs batch 0 once more and ignores it.
  const int64_t batches = val_loader_->batches_per_epoch(), rounds = (batches + world() - 1) / world();
  for (int64_t round = 0; round < rounds; ++round) {
    const int64_t i = round * world() + env_.rank;
    if (i >= batches && !fsdp_) break;
    auto b = val_loader_->batch(0, i < batches ? i : 0);
    auto loss = forward_loss(b).token_sum.item<double>();
    if (i >= batches) continue;
    total += loss;
    tokens += b.target_tokens;
  }
  if (fsdp_) fsdp_->release_root();
  if (group_) {
    auto sums = at::tensor({total, static_cast<double>(tokens)}, at::kDouble);
    group_->all_reduce_sum(sums);
    total = sums[0].item<double>();
    tokens = static_cast<int64_t>(sums[1].item<double>());
  }
  model_->set_training(true);
  return {tokens ? total / static_cast<double>(tokens) : 0.0, tokens};
}

void Trainer::run_validation(train::MetricsLog* log, FinetuneSummary& summary) {
  auto [val, tokens] = validate();
  summary.val_losses.push_back(val);
  if (log) log->log_validation(state_.step, state_.epoch, val, tokens);
}

FinetuneSummary Trainer::run() {
  build();
  FinetuneSummary summary;
  fs::path ckpt_dir = c_.checkpoint.checkpoint_dir;
  std::optional<fs::path> resume_from;
  if (!c_.checkpoint.restore_from.empty() && c_.checkpoint.restore_from != "LATEST") {
    resume_from = fs::path(c_.checkpoint.restore_from);
    AM_CHECK(fs::is_directory(*resume_from), "[checkpoint] checkpoint.restore_from {} is not a folder",
             resume_from->string());
  } else if (c_.checkpoint.enabled) {
    resume_from = checkpoint::latest_checkpoint(ckpt_dir);
  }
  // fsdp2 full fine-tunes checkpoint each rank's slices of the model instead of an HF folder.
  const bool model_shards = resume_from && fs::exists(*resume_from / "model" / "fsdp_shard_rank0.safetensors");
  if (resume_from) {
    log_info("resuming from {}", resume_from->string());
    if (!model_shards) load_model_state(*resume_from);
  }
  setup_parallelism();
  if (model_shards) load_model_shards(*resume_from);
  const int64_t local_batch = c_.step_scheduler.local_batch_size;
  if (resume_from) {
    checkpoint::ShardLayout layout;
    layout.rank = env_.rank;
    if (fsdp_) {
      layout.world = world();
      layout.numel = [this](const std::string& name) { return fsdp_->numel_of(name); };
    }
    state_ = checkpoint::load_training_state(*resume_from, *optimizer_, layout);
    // Saved with another local batch size (another process count at the same global batch):
    // the same rows of the epoch are done.
    if (state_.local_batch_size > 0 && state_.local_batch_size != local_batch) {
      const int64_t rows = state_.batch * state_.local_batch_size;
      AM_CHECK(rows % local_batch == 0, "[checkpoint] {} stopped after {} rows of epoch {}, not a multiple of "
               "step_scheduler.local_batch_size {}", resume_from->string(), rows, state_.epoch, local_batch);
      state_.batch = rows / local_batch;
    }
  }
  state_.local_batch_size = local_batch;
  train::LrSchedule schedule(c_.lr_scheduler, c_.optimizer.lr, total_steps_);
  std::optional<train::MetricsLog> log;
  if (leader()) {
    log.emplace(ckpt_dir, total_steps_, state_.step);
    for (auto& sink : train::make_trackers(c_, state_.step)) log->add_sink(std::move(sink));
    log->add_sink(train::make_plot_sink(ckpt_dir));  // pictures when the run ends, however it ends
  }
  // MFU's denominator (per process): benchmark.peak_tflops, the GPU's datasheet or the measured CPU peak.
  const double peak_tflops = leader() ? train::resolve_peak_tflops(c_.peak_tflops, setup_.device, setup_.compute) : 0;
  train::MetricsLog* log_ptr = log ? &*log : nullptr;
  // A baseline before the first step, so the log shows what fine-tuning changed.
  if (val_loader_ && state_.step == 0) run_validation(log_ptr, summary);
  model_->set_training(true);
  train::install_stop_handlers(c_.step_scheduler.preemption_signal);
  const int64_t per_epoch = train_loader_->batches_per_epoch();
  while (state_.step < total_steps_) {
    auto start = std::chrono::steady_clock::now();
    const int64_t batches_per_step = grad_acc_ * world();
    if (state_.batch + batches_per_step > per_epoch) {  // the rest of the epoch cannot fill a step
      ++state_.epoch;
      state_.batch = 0;
    }
    // Rank r takes every world()-th local batch of the step, so any process count sees the
    // same global batch.
    std::vector<data::Batch> micro;
    int64_t label_tokens = 0, real_tokens = 0;
    for (int64_t i = 0; i < grad_acc_; ++i) {
      micro.push_back(train_loader_->batch(state_.epoch, state_.batch + i * world() + env_.rank));
      label_tokens += micro.back().target_tokens;
      real_tokens += micro.back().real_tokens;
    }
    state_.batch += batches_per_step;
    if (group_) {  // the denominator is the label tokens of the whole step on every rank
      auto counts = at::tensor({label_tokens, real_tokens}, at::kLong);
      group_->all_reduce_sum(counts);
      label_tokens = counts[0].item<int64_t>();
      real_tokens = counts[1].item<int64_t>();
    }
    // Loss = summed token CE / label tokens of the whole step: the same for any split of the
    // global batch into micro-batches and processes.
    if (fsdp_) fsdp_->gather_root(/*with_grad=*/true);
    double loss = 0;
    const double denom = static_cast<double>(std::max<int64_t>(label_tokens, 1));
    for (size_t i = 0; i < micro.size(); ++i) {
      const auto& b = micro[i];
      if (ddp_ && i + 1 == micro.size()) ddp_->begin_sync();  // only the last backward communicates
      auto l = forward_loss(b);
      auto scaled = l.token_sum / denom;
      loss += scaled.item<double>();
      // HF adds the aux loss per forward; averaged over the micro-batches of the step.
      if (l.aux.defined()) scaled = scaled + l.aux.to(at::kFloat) / static_cast<double>(grad_acc_);
      scaled.backward();
    }
    if (fsdp_) {
      fsdp_->reduce_root_gradients();
      fsdp_->release_root();
    } else if (ddp_) {
      ddp_->finish();
    }
    if (group_) {
      auto total = at::tensor({loss}, at::kDouble);
      group_->all_reduce_sum(total);
      loss = total.item<double>();
    }
    double grad_norm = fsdp_ ? fsdp_->clip_grad_norm(c_.max_grad_norm)
                             : train::clip_grad_norm(optimizer_->params(), c_.max_grad_norm);
    // Loss and norm are already agreed across ranks: every rank stops here together, before the
    // update, so no checkpoint ever holds what a non-finite step would write.
    AM_CHECK(std::isfinite(loss) && std::isfinite(grad_norm),
             "[train] step {}: the loss is {} and the gradient norm {}; stopped before the update (no checkpoint "
             "written{}); lower optimizer.lr or check the data", state_.step + 1, std::isnan(loss) ? "nan" : fmt::format("{}", loss),
             std::isnan(grad_norm) ? "nan" : fmt::format("{}", grad_norm),
             last_checkpoint_.empty() ? "" : "; the last good one is " + last_checkpoint_.string());
    double lr = schedule.at(state_.step);
    optimizer_->step(lr);
    optimizer_->zero_grad();
    ++state_.step;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    train::StepMetrics m;
    m.step = state_.step;
    m.epoch = state_.epoch;
    m.loss = loss;
    m.grad_norm = grad_norm;
    m.lr = lr;
    m.tps = static_cast<double>(real_tokens) / seconds;
    // tps counts every process's tokens, so the peak is that of all of them.
    if (peak_tflops > 0) m.mfu = 100.0 * m.tps * flops_per_token_ / (peak_tflops * 1e12 * static_cast<double>(world()));
    m.mem_gib = train::peak_memory_gib();
    m.num_label_tokens = label_tokens;
    if (log) log->log_step(m);
    summary.losses.push_back(loss);
    bool last = state_.step == total_steps_;
    if (val_loader_ && ((c_.step_scheduler.val_every_steps > 0 && state_.step % c_.step_scheduler.val_every_steps == 0) ||
                        last)) {
      run_validation(log_ptr, summary);
    }
    bool periodic = c_.step_scheduler.ckpt_every_steps > 0 && state_.step % c_.step_scheduler.ckpt_every_steps == 0;
    if (c_.checkpoint.enabled && (last || periodic)) save(last);
    if (int signal = last ? 0 : agreed_stop_signal()) {
      if (c_.checkpoint.enabled && !periodic) save(false);
      const bool preempted = signal == c_.step_scheduler.preemption_signal;
      log_info("{}: stopped after step {}{}; run the same command to resume",
               preempted ? "preempted" : train::signal_name(signal), state_.step,
               !c_.checkpoint.enabled ? " (checkpointing is off: nothing saved)"
                                      : ", checkpoint " + last_checkpoint_.string());
      summary.preempted = preempted;
      if (!preempted) summary.stop_signal = signal;
      break;
    }
  }
  summary.steps = state_.step;
  summary.last_checkpoint = last_checkpoint_;
  return summary;
}

int Trainer::agreed_stop_signal() {
  int signal = train::received_stop_signal();
  if (group_)  // the lowest-ranked one any rank got: every rank stops at the same step
    for (const auto& got : group_->all_gather(at::tensor({static_cast<int64_t>(signal)}, at::kLong)))
      if (signal == 0) signal = static_cast<int>(got.item<int64_t>());
  return signal;
}

bool Trainer::parameters_finite() {
  double bad = 0;
  for (const auto& p : optimizer_->params()) bad += at::isfinite(*p.tensor).all().item<bool>() ? 0 : 1;
  if (group_) {
    auto t = at::tensor({bad}, at::kDouble);
    group_->all_reduce_sum(t);
    bad = t.item<double>();
  }
  return bad == 0;
}

void Trainer::save(bool final_save) {
  // An update can overflow (an infinite lr, say): such weights are never saved; LATEST stays.
  AM_CHECK(parameters_finite(), "[train] step {}: the updated weights are not finite; not saving them (LATEST stays "
           "at {}); lower optimizer.lr", state_.step, last_checkpoint_.empty() ? "none" : last_checkpoint_.string());
  auto name = checkpoint::checkpoint_name(state_.epoch, state_.step);
  std::vector<at::Tensor> rank_rng;
  if (group_) rank_rng = group_->all_gather(at::detail::getDefaultCPUGenerator().get_state());
  fs::path ckpt_dir = c_.checkpoint.checkpoint_dir;
  const auto when = c_.checkpoint.save_consolidated;
  bool consolidated = when == config::ConsolidatedSaves::kEvery || (final_save && when == config::ConsolidatedSaves::kFinal);
  // fsdp2: every rank writes its optimizer shard to a staging folder that rank 0 moves into the
  // checkpoint before the atomic rename.
  auto staging = [&](int rank) { return ckpt_dir / fmt::format(".{}.optimizer_rank{}", name, rank); };
  if (fsdp_) {
    fs::create_directories(staging(env_.rank));
    models::save_tensors(optimizer_->state(), staging(env_.rank), ~0ull, "optimizer");
    if (!c_.peft.enabled) models::save_tensors(fsdp_->shard_state(), staging(env_.rank), ~0ull, "model_shard");
  }
  if (group_) group_->barrier();
  // Rank 0 writes the checkpoint; the others take part in the gathers it writes from, then wait.
  bool gathers = fsdp_ && (c_.peft.enabled || consolidated);
  if (!leader()) {
    if (gathers) fsdp_->for_each_unit([](const auto&) {});
    group_->barrier();
    last_checkpoint_ = ckpt_dir / name;
    return;
  }
  last_checkpoint_ = checkpoint::commit_checkpoint(ckpt_dir, name, [&](const fs::path& dir) {
    auto model_dir = dir / "model";
    fs::create_directories(model_dir);
    if (fsdp_)
      write_model_by_unit(model_dir, consolidated);
    else
      write_model(model_dir, consolidated);
    // model/ of a full fine-tune is an HF folder of the fp32 master weights.
    if (!c_.peft.enabled && !fsdp_) checkpoint::write_hf_metadata(model_folder_, model_dir, at::kFloat);
    checkpoint::save_training_state(dir, state_, *optimizer_, c_.tree, rank_rng, fsdp_ != nullptr, world());
    if (fsdp_)
      for (int r = 0; r < world(); ++r) {
        fs::rename(staging(r) / "optimizer.safetensors", dir / "optim" / fmt::format("optimizer_rank{}.safetensors", r));
        if (!c_.peft.enabled)
          fs::rename(staging(r) / "model_shard.safetensors", model_dir / fmt::format("fsdp_shard_rank{}.safetensors", r));
        fs::remove_all(staging(r));
      }
  });
  if (group_) group_->barrier();
  log_info("saved checkpoint {}", last_checkpoint_.string());
}

void Trainer::write_model(const fs::path& model_dir, bool consolidated) {
  if (c_.peft.enabled)
    peft::save_adapter(*model_, c_.peft, lora_targets_, c_.model.name_or_path, model_dir);
  else
    models::save_weights(*model_, model_dir);  // fp32 masters: what a resume continues from
  if (consolidated) {
    checkpoint::HfFolderWriter out(model_folder_, model_dir / "consolidated");
    out.write(models::hf_state_dict(*model_));
    out.commit();
  }
}

// fsdp2: model/ holds each rank's own shard (written by that rank, as the optimizer state) or
// the LoRA adapter (small: collected unit by unit); consolidated/ is written one gathered unit at
// a time, one safetensors shard per unit (+ index), so no rank ever holds the whole model.
void Trainer::write_model_by_unit(const fs::path& model_dir, bool consolidated) {
  if (!c_.peft.enabled && !consolidated) return;
  std::optional<checkpoint::HfFolderWriter> merged;
  if (consolidated) {
    merged.emplace(model_folder_, model_dir / "consolidated");
    merged->begin_shards(fsdp_->num_units());
  }
  std::vector<std::pair<std::string, at::Tensor>> adapter;
  const std::string prefix = "base_model.model.";
  fsdp_->for_each_unit([&](const std::function<bool(const std::string&)>& in_unit) {
    if (merged) merged->write_shard(models::hf_state_dict(*model_, in_unit));
    if (c_.peft.enabled)
      for (auto& [key, tensor] : peft::adapter_tensors(*model_))
        if (in_unit(key.substr(prefix.size()))) adapter.emplace_back(key, tensor.clone());
  });
  if (merged) merged->commit();
  if (c_.peft.enabled) peft::save_adapter(adapter, c_.peft, lora_targets_, c_.model.name_or_path, model_dir);
}

std::string Trainer::report_failure(const std::string& message, bool lost_contact) {
  if (!group_) return "";
  group_->report_failure(message, lost_contact);
  return lost_contact ? group_->explain_lost_ranks(std::chrono::seconds(3)) : "";
}

// Re-sliced for this run's processes under fsdp2, or whole into the model otherwise: a run may
// resume with another number of processes or strategy.
void Trainer::load_model_shards(const fs::path& dir) {
  checkpoint::FlatShardFiles files(dir / "model", "fsdp_shard", checkpoint::saved_shard_count(dir));
  if (fsdp_) {
    std::vector<std::pair<std::string, at::Tensor>> shards;
    for (const auto& [name, _] : fsdp_->shard_state())
      shards.emplace_back(name, files.slice(name, fsdp_->numel_of(name), world(), env_.rank));
    fsdp_->load_shard_state(shards);
    return;
  }
  at::NoGradGuard no_grad;
  for (const auto& p : model_->named_parameters())
    if (files.contains(p.name)) p.tensor->copy_(files.slice(p.name, p.tensor->numel(), 1, 0).view(p.tensor->sizes()));
}

void Trainer::load_model_state(const fs::path& dir) {
  auto model_dir = dir / "model";
  if (c_.peft.enabled) {
    checkpoint::load_parameters(*model_, model_dir / "adapter_model.safetensors", "base_model.model.", ".lora_");
  } else {
    checkpoint::load_parameters(*model_, model_dir, "", "");
  }
}

}  // namespace

FinetuneSummary run_llm_finetune(const config::RecipeConfig& config) {
  Trainer trainer(config);
  try {
    return trainer.run();
  } catch (const dist::CollectiveError& e) {
    auto why = trainer.report_failure(e.what(), true);
    if (why.empty()) throw;
    throw Error(fmt::format("[dist] {}; {}", why, e.what()));  // the cause first, on one line
  } catch (const std::exception& e) {
    trainer.report_failure(e.what(), false);
    throw;
  }
}

}  // namespace automodel::recipes
