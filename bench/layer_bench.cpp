// Forward+backward time of single layers side by side, for issue 13's speed targets:
//   a routed MoE layer against a dense SwiGLU MLP with the same active FLOPs (top-k experts of
//   width I against one MLP of width k x I) — target: MoE <= 1.5x dense;
//   a Gated DeltaNet layer against Qwen3.5's gated GQA attention at seq 1024 — target: <= 2x;
//   a Mamba2 mixer (Nemotron-H's shape ratios) against the same attention — same target.
// bench/run_layers.sh runs it next to transformers' own layers (bench/reference/layer_times.py).
// Usage: layer_bench [--tokens 1024] [--hidden 1024] [--experts 64] [--top-k 8] [--expert-width 256]
//                    [--steps 5] [--dtype fp32|bf16]
#include <ATen/Parallel.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randn_like.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "automodel/common/allocator.h"
#include "automodel/common/torch_util.h"
#include "automodel/models/common/attention.h"
#include "automodel/models/common/decoder_layer.h"
#include "automodel/models/common/gated_deltanet.h"
#include "automodel/models/common/mamba2.h"
#include "automodel/models/common/mlp.h"
#include "automodel/models/common/moe.h"
#include "automodel/models/common/rope.h"
#include "automodel/models/common/weights.h"
#include "bench_util.h"

using namespace automodel;

namespace {

// Median seconds of `steps` forward+backward passes after one warm-up.
double time_layer(const std::function<at::Tensor(const at::Tensor&)>& layer, const at::Tensor& x, int64_t steps) {
  auto run = [&] {
    auto input = x.detach().requires_grad_(true);
    auto out = layer(input);
    out.backward(at::randn_like(out));
  };
  run();
  std::vector<double> times;
  for (int64_t i = 0; i < steps; ++i) times.push_back(bench::seconds_of(run));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void require_grads(models::Module& m) {
  for (const auto& p : m.named_parameters()) p.tensor->set_requires_grad(true);
}

}  // namespace

int main(int argc, char** argv) {
  automodel::keep_freed_memory_for_reuse();  // as automodel runs its training steps
  int64_t tokens = 1024, hidden = 1024, experts = 64, top_k = 8, expert_width = 256, steps = 5;
  std::string dtype = "fp32";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--tokens") tokens = std::stoll(value);
    else if (flag == "--hidden") hidden = std::stoll(value);
    else if (flag == "--experts") experts = std::stoll(value);
    else if (flag == "--top-k") top_k = std::stoll(value);
    else if (flag == "--expert-width") expert_width = std::stoll(value);
    else if (flag == "--steps") steps = std::stoll(value);
    else if (flag == "--dtype") dtype = value;
  }
  init_threads();
  const auto options = at::TensorOptions().dtype(parse_compute_dtype(dtype));
  auto x = at::randn({1, tokens, hidden}, options);

  // MoE (Qwen3-MoE routing: softmax, top-k, renormalised) against the dense MLP of k x the width.
  models::MoeOptions moe;
  moe.num_experts = experts;
  moe.top_k = top_k;
  moe.expert_intermediate = expert_width;
  moe.expert.names = models::MlpNames{};
  models::SparseMoe sparse(hidden, moe, options);
  models::GatedMlp dense(hidden, top_k * expert_width, models::MlpSpec{}, options);
  models::init_random(sparse, 1);
  models::init_random(dense, 1);
  require_grads(sparse);
  require_grads(dense);
  const double moe_s = time_layer([&](const at::Tensor& h) { return sparse.forward(h).first; }, x, steps);
  const double dense_s = time_layer([&](const at::Tensor& h) { return dense.forward(h); }, x, steps);

  // Gated DeltaNet (Qwen3.5's shape ratios) against GQA attention, causal over `tokens`.
  models::DecoderSpec spec;
  spec.hidden_size = hidden;
  spec.num_heads = hidden / 128;
  spec.num_kv_heads = std::max<int64_t>(1, spec.num_heads / 4);
  spec.head_dim = 128;
  spec.norm.eps = 1e-6;
  spec.norm.unit_offset = true;  // Qwen3.5's gated attention: (1 + w) q/k norms, output gate, rope on a quarter
  spec.qk_norm = models::QkNorm::kPerHead;
  spec.attention_output_gate = true;
  spec.rope.dim = 32;
  spec.rope.max_position_embeddings = tokens;
  models::DecoderAttention attention(spec, options);
  models::GatedDeltaNetShape shape;
  shape.num_k_heads = std::max<int64_t>(1, hidden / 256);
  shape.num_v_heads = 2 * shape.num_k_heads;
  shape.k_dim = shape.v_dim = 128;
  models::GatedDeltaNet deltanet(hidden, shape, options);
  models::init_random(attention, 1);
  models::init_random(deltanet, 1);
  require_grads(attention);
  require_grads(deltanet);
  auto positions = at::arange(tokens, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
  models::LayerPositions rope;
  std::tie(rope.cos, rope.sin) = models::RotaryEmbedding(spec.rope).cos_sin(positions, options.dtype().toScalarType());
  rope.ids = positions;
  auto mask = models::attention_mask(positions, positions, {}, {}, std::nullopt);
  const double attention_s =
      time_layer([&](const at::Tensor& h) { return attention.forward(h, rope, mask, nullptr); }, x, steps);
  const double deltanet_s =
      time_layer([&](const at::Tensor& h) { return deltanet.forward(h, {}, mask, nullptr); }, x, steps);

  // Mamba2 as Nemotron-H shapes it: inner width 2 x hidden in heads of 64, 8 groups, state 128,
  // chunks of 128.
  models::Mamba2Shape mamba_shape;
  mamba_shape.head_dim = 64;
  mamba_shape.num_heads = 2 * hidden / 64;
  mamba_shape.num_groups = std::min<int64_t>(8, mamba_shape.num_heads);
  mamba_shape.norm_groups = mamba_shape.num_groups;
  mamba_shape.state_size = 128;
  mamba_shape.chunk_size = 128;
  models::Mamba2Mixer mamba(hidden, mamba_shape, options);
  models::init_random(mamba, 1);
  require_grads(mamba);
  const double mamba_s = time_layer([&](const at::Tensor& h) { return mamba.forward(h, {}, mask, nullptr); }, x, steps);

  fmt::print("layer_bench: {} tokens, hidden {}, {}, {} threads, median of {} fwd+bwd\n", tokens, hidden, dtype,
             at::get_num_threads(), steps);
  fmt::print("moe   {} experts top-{} width {}: {:8.1f} ms | dense MLP width {}: {:8.1f} ms | moe/dense {:.2f}\n",
             experts, top_k, expert_width, moe_s * 1e3, top_k * expert_width, dense_s * 1e3, moe_s / dense_s);
  fmt::print("gdn   {} k / {} v heads x 128: {:8.1f} ms | attention {} q / {} kv heads x 128: {:8.1f} ms | gdn/attn {:.2f}\n",
             shape.num_k_heads, shape.num_v_heads, deltanet_s * 1e3, spec.num_heads, spec.num_kv_heads,
             attention_s * 1e3, deltanet_s / attention_s);
  fmt::print("mamba {} heads x 64, {} groups, state 128: {:8.1f} ms | attention (as above): {:8.1f} ms | mamba/attn {:.2f}\n",
             mamba_shape.num_heads, mamba_shape.num_groups, mamba_s * 1e3, attention_s * 1e3, mamba_s / attention_s);
  return 0;
}
