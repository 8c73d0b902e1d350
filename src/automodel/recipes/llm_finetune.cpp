#include "automodel/recipes/llm_finetune.h"

#include <ATen/Context.h>
#include <ATen/ops/tensor.h>

#include <chrono>
#include <cmath>
#include <set>

#include "automodel/checkpoint/checkpointer.h"
#include "automodel/checkpoint/resume.h"
#include "automodel/common/allocator.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/data/dataset_cache.h"
#include "automodel/data/recipe_loader.h"
#include "automodel/data/sampler.h"
#include "automodel/data/vlm_dataset.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/models/common/attention.h"
#include "automodel/models/registry.h"
#include "automodel/models/vision/vision_language.h"
#include "automodel/peft/lora.h"
#include "automodel/peft/lora_linear.h"
#include "automodel/recipes/run_setup.h"
#include "automodel/train/lr_schedule.h"
#include "automodel/train/metrics.h"
#include "automodel/train/peak_flops.h"
#include "automodel/train/plots/training_plots.h"
#include "automodel/train/step.h"
#include "automodel/train/stop_signals.h"
#include "automodel/train/trackers/trackers.h"
#include "automodel/train/validation.h"

namespace fs = std::filesystem;

namespace automodel::recipes {
namespace {

// A VLM's parameters freeze_config leaves untrained (LoRA's adapters are never among them).
std::set<std::string> frozen_parameters(const models::VisionLanguageModel& model, const config::FreezeSection& freeze) {
  std::set<std::string> out;
  if (freeze.embeddings)
    for (auto& name : model.embedding_parameters()) out.insert(std::move(name));
  for (const auto& p : model.named_parameters()) {
    if (peft::is_adapter_parameter(p.name)) continue;
    const auto part = model.part_of(p.name);
    if ((freeze.vision_tower && part == models::VlmPart::kVisionTower) ||
        (freeze.language_model && part == models::VlmPart::kLanguageModel))
      out.insert(p.name);
  }
  return out;
}

// processor.min_pixels / max_pixels over the folder's (patch processors only).
void apply_pixel_budget(const config::ProcessorSection& section, vision::VlmProcessorConfig& processor) {
  if (!section.min_pixels && !section.max_pixels) return;
  auto& image = processor.image;
  AM_CHECK(image.max_pixels > 0, "[config] processor.min_pixels / max_pixels: {} resizes to a fixed size; only patch "
           "processors (Qwen2-VL) take a pixel budget", image.type);
  image.min_pixels = section.min_pixels.value_or(image.min_pixels);
  image.max_pixels = section.max_pixels.value_or(image.max_pixels);
  AM_CHECK(image.min_pixels <= image.max_pixels, "[config] processor: min_pixels {} is above max_pixels {}",
           image.min_pixels, image.max_pixels);
}

// LLM and VLM fine-tuning (TrainFinetuneRecipeForNextTokenPrediction, FinetuneRecipeForVLM): a
// VLM differs in its data (images through the processor), its model (vision tower and projector)
// and freeze_config.
class LlmFinetune {
 public:
  explicit LlmFinetune(const config::RecipeConfig& c) : c_(c), precision_(train::resolve_precision(c.model)) {
    models::set_attention_impl(models::parse_attention_impl(c.model.attn_implementation));
  }
  FinetuneSummary run();
  RunProcesses& processes() { return procs_; }

 private:
  void build_data();
  void build_model();
  void parallelize();
  void train_loop(const train::LrSchedule& schedule, train::MetricsLog* log, double peak_tflops,
                  FinetuneSummary& summary);
  void validate(train::MetricsLog* log, FinetuneSummary& summary);

  const config::RecipeConfig& c_;
  train::Precision precision_;
  RunProcesses procs_;
  std::unique_ptr<checkpoint::CheckpointDirLock> dir_lock_;  // rank 0: one run per checkpoint_dir
  fs::path model_folder_;
  std::optional<tokenizer::LoadedTokenizer> tokenizer_;
  std::optional<data::DataLoader> train_loader_, val_loader_;
  std::optional<data::DataParallelSampler> sampler_;
  int64_t total_steps_ = 0;
  std::unique_ptr<models::CausalLM> model_;
  std::vector<std::string> lora_targets_, trainable_names_;
  double flops_per_token_ = 0;
  std::unique_ptr<dist::ParallelModel> parallel_;
  std::unique_ptr<train::AdamW> optimizer_;
  std::unique_ptr<train::TrainStep> step_;
  std::unique_ptr<checkpoint::Checkpointer> checkpointer_;
  checkpoint::TrainingState state_;
};

// Datasets first: a bad dataset fails before the model is loaded.
void LlmFinetune::build_data() {
  const auto& ss = c_.step_scheduler;
  const int64_t grad_acc = gradient_accumulation(c_, procs_.mesh->dp_size());
  sampler_.emplace(procs_.mesh->dp_rank(), procs_.mesh->dp_size(), grad_acc);
  const bool mock_only = c_.dataset.kind == config::Component::kMockDataset &&
                         (!c_.validation_dataset || c_.validation_dataset->kind == config::Component::kMockDataset);
  const fs::path tokenizer_folder =
      c_.dataset.tokenizer.empty() ? model_folder_ : hf::resolve_model_folder(c_.dataset.tokenizer);
  data::LoaderOptions o;
  if (!mock_only) {
    tokenizer_ = tokenizer::load_tokenizer(tokenizer_folder);
    o.tokenizer = &*tokenizer_;
    o.tokenizer_fingerprint = data::tokenizer_fingerprint(tokenizer_folder);
  }
  const auto model_config = hf::load_model_config(model_folder_);
  o.vocab_size = models::config_vocab_size(model_config);
  o.vocab_source = model_config.label;
  o.pack_size = c_.packed_sequence_size;
  o.batch_size = ss.local_batch_size;
  o.seed = c_.seed;
  o.shuffle = c_.dataloader.shuffle;
  o.drop_last = true;
  // A VLM's rows go through its processor (image processor, chat template, image tokens).
  std::optional<vision::VlmProcessorConfig> processor;
  if (c_.vlm()) {
    const fs::path folder =
        c_.processor.name_or_path.empty() ? model_folder_ : hf::resolve_model_folder(c_.processor.name_or_path);
    processor = vision::read_vlm_processor(folder, *model_config.json, model_config.label);
    apply_pixel_budget(c_.processor, *processor);
  }
  auto loader = [&](const config::DatasetSection& section) {
    return processor ? data::make_vlm_loader(section, *tokenizer_, *processor, o) : data::make_recipe_loader(section, o);
  };
  train_loader_.emplace(loader(c_.dataset));
  const int64_t per_epoch = sampler_->steps_per_epoch(train_loader_->batches_per_epoch());
  AM_CHECK(per_epoch > 0,
           "[train] {}: the dataset gives {} rows, fewer than one global batch ({}); lower "
           "step_scheduler.global_batch_size or add data",
           c_.label, train_loader_->num_rows(), ss.global_batch_size);
  total_steps_ = ss.num_epochs * per_epoch;
  if (ss.max_steps > 0) total_steps_ = std::min(total_steps_, ss.max_steps);
  if (c_.validation_dataset) {
    o.shuffle = false;
    o.drop_last = false;
    val_loader_.emplace(loader(*c_.validation_dataset));
  }
}

void LlmFinetune::build_model() {
  models::LoadOptions load;
  load.device = precision_.device;
  // LoRA: the frozen base is stored in the compute dtype (zero-copy from the file on CPU when
  // the dtypes match); full fine-tuning keeps fp32 master weights and autocasts.
  load.dtype = c_.peft.enabled ? precision_.compute : at::kFloat;
  load.read_only_weights = c_.peft.enabled;
  load.vision = c_.vlm();
  model_ = models::load_pretrained(model_folder_.string(), load);
  const auto* vlm = dynamic_cast<const models::VisionLanguageModel*>(model_.get());
  if (c_.peft.enabled) {
    auto peft = c_.peft;
    if (vlm) {
      // LoRA adapts the language model and the projector, never a tower. A v4-layout checkpoint's
      // projector ("multi_modal_projector.*") sits under "model." in transformers' memory, where
      // PEFT would not find its adapter keys: it stays without LoRA there too.
      auto left_alone = [&](const std::string& name) {
        const auto part = vlm->part_of(name + ".weight");
        return part == models::VlmPart::kVisionTower ||
               (part == models::VlmPart::kProjector && vlm->parts_prefix().empty());
      };
      std::vector<std::string> left_out;  // modules AutoModel's rule would have adapted
      for (const auto& name : peft::adaptable_modules(*model_))
        if (left_alone(name) && peft::lora_rule_selects(name, peft)) left_out.push_back(name);
      if (!left_out.empty())
        log_warn("[peft] LoRA stays off the vision tower (and off the projector of a transformers 4 layout, whose "
                 "adapter PEFT would not load): {} module(s) that the peft rule selects (AutoModel would adapt them) "
                 "stay frozen without an adapter (e.g. {})", left_out.size(),
                 join(std::vector<std::string>(left_out.begin(), left_out.begin() + std::min<size_t>(left_out.size(), 4)),
                      ", "));
      auto globs = vlm->part_globs(models::VlmPart::kVisionTower);
      if (vlm->parts_prefix().empty())
        for (const auto& glob : vlm->part_globs(models::VlmPart::kProjector)) globs.push_back(glob);
      peft.exclude_modules.insert(peft.exclude_modules.end(), globs.begin(), globs.end());
    }
    lora_targets_ = peft::apply_lora(*model_, peft, c_.seed);
  }
  const auto frozen = vlm ? frozen_parameters(*vlm, c_.freeze) : std::set<std::string>();
  // Counted now: under fsdp2 the model's own tensors are emptied once sharded.
  // A VLM's vision parts run per image, not per token: MFU counts the language model's FLOPs.
  int64_t token_params = model_->num_parameters();
  if (vlm)
    for (const auto& p : model_->named_parameters())
      if (vlm->part_of(p.name) != models::VlmPart::kLanguageModel) token_params -= p.tensor->numel();
  flops_per_token_ = train::train_flops_per_token(token_params, model_->num_layers(), model_->hidden_size(),
                                                  c_.packed_sequence_size > 0 ? c_.packed_sequence_size : 512);
  int64_t n_train = 0;
  for (const auto& p : model_->named_parameters()) {
    const bool train =
        p.trainable && (!c_.peft.enabled || peft::is_adapter_parameter(p.name)) && !frozen.count(p.name);
    p.tensor->set_requires_grad(train);
    if (!train) continue;
    trainable_names_.push_back(p.name);
    n_train += p.tensor->numel();
  }
  log_info("model {}: {} parameters, {} trainable ({}), compute {} on {}",
           vlm ? model_->config().composite->model_type : model_->config().model_type,
           human_count(static_cast<double>(model_->num_parameters())), human_count(static_cast<double>(n_train)),
           c_.peft.enabled ? fmt::format("LoRA r={} on {} modules", c_.peft.dim, lora_targets_.size()) : "full",
           scalar_type_name(precision_.compute), precision_.device.str());
}

// After any resumed weights are in the (whole) model: the parallel plan, the optimizer over
// what this rank updates, and the training state each rank holds.
void LlmFinetune::parallelize() {
  parallel_ = dist::parallelize(*model_, parallel_plan(c_), *procs_.mesh, procs_.dp, trainable_names_);
  auto trainable = parallel_->trainable();
  double grad_bytes = 0;
  for (const auto& p : trainable) grad_bytes += static_cast<double>(p.tensor->nbytes());
  optimizer_ = std::make_unique<train::AdamW>(std::move(trainable), c_.optimizer);
  const double param_bytes = parallel_->state_bytes();
  // Every rank reports its own state size (the benchmark compares them), so not log_info only.
  // Adam keeps two fp32 moments per trainable element.
  fmt::print(stderr, "[info] rank {}: training state {} = {:.0f} B (parameters + gradients) + {:.0f} B (optimizer), "
             "strategy {}\n", procs_.env.rank, human_bytes(param_bytes + 2 * grad_bytes), param_bytes,
             2 * grad_bytes, parallel_->strategy());
  if (procs_.env.distributed()) at::manual_seed(c_.seed + static_cast<uint64_t>(procs_.env.rank));  // dropout differs
  step_ = std::make_unique<train::TrainStep>(*model_, *parallel_, procs_.dp, precision_, c_.loss.chunk_len);
  checkpoint::CheckpointerContext ctx{&c_, model_folder_, lora_targets_, procs_.world.get(), procs_.env.rank,
                                      procs_.world_size()};
  checkpointer_ = std::make_unique<checkpoint::Checkpointer>(std::move(ctx), *model_, *optimizer_, *parallel_);
}

void LlmFinetune::validate(train::MetricsLog* log, FinetuneSummary& summary) {
  auto v = train::validate(*step_, *val_loader_, *sampler_, procs_.dp);
  summary.val_losses.push_back(v.loss);
  if (log) log->log_validation(state_.step, state_.epoch, v.loss, v.label_tokens);
}

FinetuneSummary LlmFinetune::run() {
  join_processes(c_, precision_, procs_);
  // Before any data or model is loaded.
  if (procs_.leader()) dir_lock_ = claim_checkpoint_dir(c_.checkpoint.checkpoint_dir);
  model_folder_ = hf::resolve_model_folder(c_.model.name_or_path, c_.model.revision);
  build_data();
  build_model();
  const auto resume_from = checkpoint::resume_point(c_.checkpoint);
  const bool model_shards = resume_from && checkpoint::holds_model_shards(*resume_from);
  if (resume_from) {
    log_info("resuming from {}", resume_from->string());
    if (!model_shards) checkpoint::load_whole_model(*model_, *resume_from, c_.peft.enabled);
  }
  parallelize();
  const int64_t local_batch = c_.step_scheduler.local_batch_size;
  if (model_shards)
    checkpoint::load_model_shards(*model_, *parallel_, *resume_from, procs_.mesh->dp_size(), procs_.mesh->dp_rank());
  if (resume_from)
    state_ = checkpoint::load_resumed_state(*resume_from, *optimizer_, *parallel_, procs_.world_size(),
                                            procs_.env.rank, local_batch);
  state_.local_batch_size = local_batch;
  FinetuneSummary summary;
  train::LrSchedule schedule(c_.lr_scheduler, c_.optimizer.lr, total_steps_);
  std::optional<train::MetricsLog> log;
  const fs::path ckpt_dir = c_.checkpoint.checkpoint_dir;
  if (procs_.leader()) {
    log.emplace(ckpt_dir, total_steps_, state_.step);
    for (auto& sink : train::make_trackers(c_, state_.step)) log->add_sink(std::move(sink));
    log->add_sink(train::make_plot_sink(ckpt_dir));  // pictures when the run ends, however it ends
  }
  // MFU's denominator (per process): benchmark.peak_tflops, the GPU's datasheet or the measured CPU peak.
  const double peak_tflops =
      procs_.leader() ? train::resolve_peak_tflops(c_.peak_tflops, precision_.device, precision_.compute) : 0;
  train::MetricsLog* log_ptr = log ? &*log : nullptr;
  // Loading is done: from here on the same large tensors come and go every step.
  keep_freed_memory_for_reuse();
  // A baseline before the first step, so the log shows what fine-tuning changed.
  if (val_loader_ && state_.step == 0) validate(log_ptr, summary);
  model_->set_training(true);
  train::install_stop_handlers(c_.step_scheduler.preemption_signal);
  train_loop(schedule, log_ptr, peak_tflops, summary);
  summary.steps = state_.step;
  summary.last_checkpoint = checkpointer_->last();
  return summary;
}

// The stop signal any rank received (the lowest-ranked one's, agreed by all), or 0.
int agreed_stop_signal(dist::ProcessGroup* group) {
  int signal = train::received_stop_signal();
  if (group)  // every rank stops at the same step
    for (const auto& got : group->all_gather(at::tensor({static_cast<int64_t>(signal)}, at::kLong)))
      if (signal == 0) signal = static_cast<int>(got.item<int64_t>());
  return signal;
}

void LlmFinetune::train_loop(const train::LrSchedule& schedule, train::MetricsLog* log, double peak_tflops,
                             FinetuneSummary& summary) {
  const auto& ss = c_.step_scheduler;
  const int64_t per_epoch = train_loader_->batches_per_epoch();
  while (state_.step < total_steps_) {
    const auto start = std::chrono::steady_clock::now();
    data::DataPosition at{state_.epoch, state_.batch};
    std::vector<data::Batch> micro;
    for (const auto& pos : sampler_->next_step(at, per_epoch)) micro.push_back(train_loader_->batch(pos.epoch, pos.batch));
    state_.epoch = at.epoch;
    state_.batch = at.batch;
    const auto g = step_->compute_gradients(micro, c_.max_grad_norm);
    // Loss and norm are already agreed across ranks: every rank stops here together, before the
    // update, so no checkpoint ever holds what a non-finite step would write.
    const auto& last_good = checkpointer_->last();
    AM_CHECK(std::isfinite(g.loss) && std::isfinite(g.grad_norm),
             "[train] step {}: the loss is {} and the gradient norm {}; stopped before the update (no checkpoint "
             "written{}); lower optimizer.lr or check the data", state_.step + 1,
             std::isnan(g.loss) ? "nan" : fmt::format("{}", g.loss),
             std::isnan(g.grad_norm) ? "nan" : fmt::format("{}", g.grad_norm),
             last_good.empty() ? "" : "; the last good one is " + last_good.string());
    const double lr = schedule.at(state_.step);
    optimizer_->step(lr);
    optimizer_->zero_grad();
    ++state_.step;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    train::StepMetrics m;
    m.step = state_.step;
    m.epoch = state_.epoch;
    m.loss = g.loss;
    m.grad_norm = g.grad_norm;
    m.lr = lr;
    m.tps = static_cast<double>(g.real_tokens) / seconds;
    // tps counts every process's tokens, so the peak is that of all of them.
    if (peak_tflops > 0)
      m.mfu = 100.0 * m.tps * flops_per_token_ / (peak_tflops * 1e12 * static_cast<double>(procs_.world_size()));
    m.mem_gib = train::peak_memory_gib();
    m.num_label_tokens = g.label_tokens;
    if (log) log->log_step(m);
    summary.losses.push_back(g.loss);
    const bool last = state_.step == total_steps_;
    if (val_loader_ && ((ss.val_every_steps > 0 && state_.step % ss.val_every_steps == 0) || last))
      validate(log, summary);
    const bool periodic = ss.ckpt_every_steps > 0 && state_.step % ss.ckpt_every_steps == 0;
    if (c_.checkpoint.enabled && (last || periodic)) {
      checkpointer_->save(state_, last);
      if (last && log) log->log_final_model(checkpointer_->last() / "model");
    }
    if (int signal = last ? 0 : agreed_stop_signal(procs_.world.get())) {
      if (c_.checkpoint.enabled && !periodic) checkpointer_->save(state_, false);
      const bool preempted = signal == ss.preemption_signal;
      log_info("{}: stopped after step {}{}; run the same command to resume",
               preempted ? "preempted" : train::signal_name(signal), state_.step,
               !c_.checkpoint.enabled ? " (checkpointing is off: nothing saved)"
                                      : ", checkpoint " + checkpointer_->last().string());
      summary.preempted = preempted;
      if (!preempted) summary.stop_signal = signal;
      break;
    }
  }
}

}  // namespace

FinetuneSummary run_llm_finetune(const config::RecipeConfig& config) {
  LlmFinetune recipe(config);
  try {
    return recipe.run();
  } catch (const dist::CollectiveError& e) {
    auto why = recipe.processes().report_failure(e.what(), true);
    if (why.empty()) throw;
    throw Error(fmt::format("[dist] {}; {}", why, e.what()));  // the cause first, on one line
  } catch (const std::exception& e) {
    recipe.processes().report_failure(e.what(), false);
    throw;
  }
}

}  // namespace automodel::recipes
