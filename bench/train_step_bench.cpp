// Forward+backward tokens/s and peak memory of a Llama config (random weights, random tokens)
// through train::TrainStep, the step a recipe runs (fused linear cross-entropy, gradient
// clipping). bench/run_train_step.sh runs it next to the PyTorch reference.
// Usage: train_step_bench CONFIG.json [--seq 512] [--batch 1] [--steps 3] [--dtype fp32|bf16]
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <cstring>
#include <string>

#include "automodel/common/atomic_file.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/data/loader.h"
#include "automodel/data/packing.h"
#include "automodel/dist/parallelize.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/train/step.h"
#include "automodel/common/allocator.h"
#include "bench_util.h"

using namespace automodel;

int main(int argc, char** argv) {
  automodel::keep_freed_memory_for_reuse();  // as automodel runs its training steps
  if (argc < 2) {
    fmt::print(stderr, "usage: train_step_bench CONFIG.json [--seq N] [--batch N] [--steps N] [--dtype fp32|bf16]\n");
    return 2;
  }
  int64_t seq = 512, batch = 1, steps = 3;
  std::string dtype = "fp32";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--seq") seq = std::stoll(value);
    else if (flag == "--batch") batch = std::stoll(value);
    else if (flag == "--steps") steps = std::stoll(value);
    else if (flag == "--dtype") dtype = value;
  }
  init_threads();
  auto config = hf::parse_model_config(read_file(argv[1]), argv[1]);
  auto model = models::build_model(config, parse_compute_dtype(dtype), c10::Device(c10::kCPU));
  models::init_random(*model, 1);
  std::vector<std::string> trainable;
  for (const auto& p : model->named_parameters()) {
    p.tensor->set_requires_grad(true);
    trainable.push_back(p.name);
  }
  // Random documents of `seq` tokens, every next token in the loss, as a recipe's batch.
  std::vector<data::TrainingRow> rows;
  uint64_t state = 1;
  for (int64_t r = 0; r < batch; ++r) {
    data::Sample sample;
    for (int64_t t = 0; t < seq; ++t) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      sample.ids.push_back(static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(model->vocab_size())));
    }
    sample.targets.assign(sample.ids.begin() + 1, sample.ids.end());
    sample.targets.push_back(data::kIgnore);
    rows.push_back(data::to_row(sample));
  }
  std::vector<const data::TrainingRow*> row_ptrs;
  for (const auto& r : rows) row_ptrs.push_back(&r);
  const auto micro = std::vector<data::Batch>{data::collate(row_ptrs, 0)};
  dist::DeviceMesh mesh(dist::MeshShape{}, 0);
  auto parallel = dist::parallelize(*model, dist::ParallelPlan{}, mesh, nullptr, trainable);
  train::TrainStep train_step(*model, *parallel, nullptr, {c10::Device(c10::kCPU), at::kFloat}, /*loss_chunk_len=*/0);

  auto step = [&] {
    train_step.compute_gradients(micro, /*max_grad_norm=*/1.0);
    for (const auto& p : model->named_parameters()) p.tensor->mutable_grad() = at::Tensor();
  };
  step();  // warm-up: allocator, oneDNN/BLAS initialisation
  double secs = bench::seconds_of([&] {
    for (int64_t s = 0; s < steps; ++s) step();
  });
  double tps = static_cast<double>(batch * seq * steps) / secs;
  fmt::print("automodel  params={:.1f}M dtype={} seq={} batch={} threads={}: {:.1f} tok/s, peak RSS {:.0f} MiB\n",
             model->num_parameters() / 1e6, dtype, seq, batch, at::get_num_threads(), tps, bench::peak_rss_mib());
  return 0;
}
