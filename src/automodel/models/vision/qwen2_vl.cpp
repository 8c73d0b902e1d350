// Qwen2-VL and Qwen2.5-VL (Qwen2VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration): a
// ViT over the processor's patch rows (a linear patch embedding, 2-D rotary positions, attention
// within each frame, or within windows of merged patches for most Qwen2.5 layers), a patch merger
// (norm, 2x2 neighbours concatenated, MLP) to the language model's width, and M-RoPE positions
// (temporal, height, width) for the Qwen2 language model.
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/argsort.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/reciprocal.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/tensor.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "automodel/common/error.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/vision/vision_language.h"

namespace automodel::models {
namespace {

struct QwenVisionConfig {
  bool v2_5 = false;  // RMSNorm, SwiGLU MLP, window attention
  int64_t depth = 0, width = 0, heads = 0, intermediate = 0, out_width = 0;
  int64_t patch = 14, temporal = 2, merge = 2, channels = 3;
  int64_t window = 112;                // Qwen2.5: window_size in pixels
  std::vector<int64_t> full_attention;  // Qwen2.5: fullatt_block_indexes
  Activation act = Activation::kQuickGelu;
  int64_t head_dim() const { return width / heads; }
  int64_t patch_values() const { return channels * temporal * patch * patch; }
};

QwenVisionConfig parse_qwen_vision(const hf::JsonFields& c, bool v2_5, int64_t text_hidden) {
  QwenVisionConfig q;
  q.v2_5 = v2_5;
  auto positive = [&](const char* key, int64_t fallback) {
    return c.check_int(key, c.get_int(key, fallback), 1, hf::kMaxWidth);
  };
  q.depth = c.check_int("depth", c.get_int("depth", 32), 1, hf::kMaxLayers);
  q.heads = c.check_int("num_heads", c.get_int("num_heads", 16), 1, hf::kMaxHeads);
  if (v2_5) {
    q.width = positive("hidden_size", 1280);
    q.intermediate = positive("intermediate_size", 3420);
    q.out_width = positive("out_hidden_size", text_hidden);
    q.window = positive("window_size", 112);
    if (c.has("fullatt_block_indexes"))
      for (double i : c.get_double_list("fullatt_block_indexes")) q.full_attention.push_back(static_cast<int64_t>(i));
    else
      q.full_attention = {7, 15, 23, 31};
    q.act = parse_activation(c.get_string("hidden_act", "silu"), c.where("hidden_act"));
  } else {
    q.width = positive("embed_dim", 1280);
    q.intermediate = q.width * positive("mlp_ratio", 4);
    q.out_width = positive("hidden_size", text_hidden);
    q.act = parse_activation(c.get_string("hidden_act", "quick_gelu"), c.where("hidden_act"));
  }
  q.patch = positive("patch_size", 14);
  q.temporal = positive("temporal_patch_size", 2);
  q.merge = positive("spatial_merge_size", 2);
  q.channels = positive("in_channels", 3);
  c.check_divisible("embed_dim", q.width, "num_heads", q.heads);
  AM_CHECK(q.head_dim() % 4 == 0, "{}: the head size {} must be a multiple of 4 (2-D rotary)", c.label(), q.head_dim());
  AM_CHECK(q.out_width == text_hidden, "{}: the merger's output width {} differs from the language model's {}",
           c.label(), q.out_width, text_hidden);
  return q;
}

std::unique_ptr<Norm> vision_norm(const QwenVisionConfig& q, int64_t dim, const at::TensorOptions& o) {
  if (q.v2_5) return std::make_unique<RMSNorm>(dim, 1e-6, false, o);
  return std::make_unique<LayerNorm>(dim, 1e-6, o);
}

// q, k: (N, heads, head_dim) rotated in fp32 with cos/sin (N, head_dim), as rotate_half.
at::Tensor rotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  auto f = x.to(at::kFloat);
  const int64_t half = f.size(-1) / 2;
  auto rotated = at::cat({-f.narrow(-1, half, half), f.narrow(-1, 0, half)}, -1);
  return (f * cos.unsqueeze(1) + rotated * sin.unsqueeze(1)).to(x.scalar_type());
}

class VisionAttention : public Module {
 public:
  VisionAttention(int64_t width, int64_t heads, const at::TensorOptions& o) : heads_(heads) {
    qkv_ = add_module<LinearLayer>("qkv", std::make_unique<Linear>(width, 3 * width, true, o));
    proj_ = add_module<LinearLayer>("proj", std::make_unique<Linear>(width, width, true, o));
  }
  // x: (N, width); attention within each [bounds[i], bounds[i+1]) span of rows.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const std::vector<int64_t>& bounds) const {
    const int64_t N = x.size(0), D = x.size(1), hd = D / heads_;
    auto qkv = qkv_->forward(x).view({N, 3, heads_, hd});
    auto q = rotate(qkv.select(1, 0), cos, sin), k = rotate(qkv.select(1, 1), cos, sin), v = qkv.select(1, 2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    std::vector<at::Tensor> outs;
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
      const int64_t begin = bounds[i], len = bounds[i + 1] - bounds[i];
      if (len == 0) continue;
      auto qs = q.narrow(0, begin, len).transpose(0, 1), ks = k.narrow(0, begin, len).transpose(0, 1);
      auto vs = v.narrow(0, begin, len).transpose(0, 1);  // (heads, len, hd)
      auto probs = at::softmax(at::matmul(qs, ks.transpose(-1, -2)) * scale, -1, at::kFloat).to(qs.scalar_type());
      outs.push_back(at::matmul(probs, vs).transpose(0, 1).reshape({len, D}));
    }
    return proj_->forward(at::cat(outs, 0));
  }

 private:
  int64_t heads_;
  Slot<LinearLayer> qkv_, proj_;
};

class VisionMlp : public Module {
 public:
  VisionMlp(const QwenVisionConfig& q, const at::TensorOptions& o) : swiglu_(q.v2_5), act_(q.act) {
    auto linear = [&](int64_t in, int64_t out) { return std::make_unique<Linear>(in, out, true, o); };
    if (swiglu_) {
      gate_ = add_module<LinearLayer>("gate_proj", linear(q.width, q.intermediate));
      up_ = add_module<LinearLayer>("up_proj", linear(q.width, q.intermediate));
      down_ = add_module<LinearLayer>("down_proj", linear(q.intermediate, q.width));
    } else {
      up_ = add_module<LinearLayer>("fc1", linear(q.width, q.intermediate));
      down_ = add_module<LinearLayer>("fc2", linear(q.intermediate, q.width));
    }
  }
  at::Tensor forward(const at::Tensor& x) const {
    if (swiglu_) return down_->forward(activate(act_, gate_->forward(x)) * up_->forward(x));
    return down_->forward(activate(act_, up_->forward(x)));
  }

 private:
  bool swiglu_;
  Activation act_;
  Slot<LinearLayer> gate_, up_, down_;
};

class VisionBlock : public Module {
 public:
  VisionBlock(const QwenVisionConfig& q, const at::TensorOptions& o) {
    norm1_ = add_module<Norm>("norm1", vision_norm(q, q.width, o));
    norm2_ = add_module<Norm>("norm2", vision_norm(q, q.width, o));
    attn_ = add_module("attn", std::make_unique<VisionAttention>(q.width, q.heads, o));
    mlp_ = add_module("mlp", std::make_unique<VisionMlp>(q, o));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const std::vector<int64_t>& bounds) const {
    auto h = x + attn_->forward(norm1_->forward(x), cos, sin, bounds);
    return h + mlp_->forward(norm2_->forward(h));
  }

 private:
  Slot<Norm> norm1_, norm2_;
  Slot<VisionAttention> attn_;
  Slot<VisionMlp> mlp_;
};

// Each merge x merge block of patches (consecutive rows) normalised, concatenated and projected.
class PatchMerger : public Module {
 public:
  PatchMerger(const QwenVisionConfig& q, const at::TensorOptions& o) : merged_(q.width * q.merge * q.merge) {
    ln_q_ = add_module<Norm>("ln_q", vision_norm(q, q.width, o));
    fc1_ = add_module<LinearLayer>("mlp.0", std::make_unique<Linear>(merged_, merged_, true, o));
    fc2_ = add_module<LinearLayer>("mlp.2", std::make_unique<Linear>(merged_, q.out_width, true, o));
  }
  at::Tensor forward(const at::Tensor& x) const {
    return fc2_->forward(activate(Activation::kGeluExact, fc1_->forward(ln_q_->forward(x).view({-1, merged_}))));
  }

 private:
  int64_t merged_;
  Slot<Norm> ln_q_;
  Slot<LinearLayer> fc1_, fc2_;
};

std::vector<std::array<int64_t, 3>> grids_of(const at::Tensor& image_grid_thw) {
  AM_CHECK(image_grid_thw.defined() && image_grid_thw.dim() == 2 && image_grid_thw.size(1) == 3,
           "Qwen2-VL: image_grid_thw (images, 3) is required with pixel_values");
  auto cpu = image_grid_thw.to(at::kCPU, at::kLong).contiguous();
  std::vector<std::array<int64_t, 3>> out(static_cast<size_t>(cpu.size(0)));
  const auto* p = cpu.data_ptr<int64_t>();
  for (size_t i = 0; i < out.size(); ++i) out[i] = {p[3 * i], p[3 * i + 1], p[3 * i + 2]};
  return out;
}

class QwenVisionTower : public Module {
 public:
  QwenVisionTower(const QwenVisionConfig& q, const at::TensorOptions& o) : q_(q) {
    patch_ = add_parameter("patch_embed.proj.weight",
                           at::empty({q.width, q.channels, q.temporal, q.patch, q.patch}, o));
    auto blocks = std::make_unique<ModuleList<VisionBlock>>();
    for (int64_t i = 0; i < q.depth; ++i) blocks->append(std::make_unique<VisionBlock>(q, o));
    blocks_ = add_module("blocks", std::move(blocks));
    merger_ = add_module("merger", std::make_unique<PatchMerger>(q, o));
  }

  // pixel_values (patches, C x T x P x P) in the processor's (t, h-block, w-block, mh, mw) order.
  at::Tensor forward(const at::Tensor& pixel_values, const std::vector<std::array<int64_t, 3>>& grids) const {
    AM_CHECK(pixel_values.dim() == 2 && pixel_values.size(1) == q_.patch_values(),
             "Qwen2-VL: pixel_values must be (patches, {}), found ({}, {})", q_.patch_values(),
             pixel_values.size(0), pixel_values.dim() > 1 ? pixel_values.size(1) : 0);
    int64_t patches = 0;
    for (const auto& g : grids) patches += g[0] * g[1] * g[2];
    AM_CHECK(patches == pixel_values.size(0), "Qwen2-VL: image_grid_thw covers {} patches, pixel_values has {}",
             patches, pixel_values.size(0));
    auto h = at::linear(pixel_values.to(patch_->scalar_type()), patch_->view({q_.width, -1}));
    auto [cos, sin] = rotary(grids, h.device());
    std::vector<int64_t> frames{0};  // attention within each frame
    for (const auto& g : grids)
      for (int64_t t = 0; t < g[0]; ++t) frames.push_back(frames.back() + g[1] * g[2]);
    std::vector<int64_t> windows;
    at::Tensor order;
    const int64_t unit = q_.merge * q_.merge;
    if (q_.v2_5) {  // rows regrouped window by window (in units of merged blocks), restored after the merger
      order = window_order(grids, windows).to(h.device());
      auto regroup = [&](const at::Tensor& x) { return x.view({-1, unit, x.size(-1)}).index_select(0, order).view({-1, x.size(-1)}); };
      h = regroup(h);
      cos = regroup(cos);
      sin = regroup(sin);
    }
    for (int64_t i = 0; i < q_.depth; ++i) {
      const bool full = !q_.v2_5 || std::count(q_.full_attention.begin(), q_.full_attention.end(), i) > 0;
      h = (*blocks_)[static_cast<size_t>(i)].forward(h, cos, sin, full ? frames : windows);
    }
    auto merged = merger_->forward(h);
    if (q_.v2_5) merged = merged.index_select(0, at::argsort(order));
    return merged;
  }

 private:
  // cos/sin (patches, head_dim) of the 2-D positions: [h-frequencies, w-frequencies] twice.
  std::pair<at::Tensor, at::Tensor> rotary(const std::vector<std::array<int64_t, 3>>& grids, c10::Device device) const {
    const int64_t quarter = q_.head_dim() / 4, m = q_.merge;
    std::vector<float> hpos, wpos;
    for (const auto& [t, gh, gw] : grids)
      for (int64_t f = 0; f < t; ++f)
        for (int64_t bh = 0; bh < gh / m; ++bh)
          for (int64_t bw = 0; bw < gw / m; ++bw)
            for (int64_t mh = 0; mh < m; ++mh)
              for (int64_t mw = 0; mw < m; ++mw) {
                hpos.push_back(static_cast<float>(bh * m + mh));
                wpos.push_back(static_cast<float>(bw * m + mw));
              }
    const auto n = static_cast<int64_t>(hpos.size());
    auto opts = at::TensorOptions().dtype(at::kFloat);
    // VisionRotaryEmbedding(head_dim / 2), theta 10000, in fp32 as transformers computes it.
    auto inv_t = at::reciprocal(at::pow(10000.0, at::arange(0, 2 * quarter, 2, opts) / static_cast<double>(2 * quarter)))
                     .view({1, quarter});
    auto fh = at::from_blob(hpos.data(), {n, 1}, opts).clone() * inv_t;
    auto fw = at::from_blob(wpos.data(), {n, 1}, opts).clone() * inv_t;
    auto half = at::cat({fh, fw}, -1);
    auto emb = at::cat({half, half}, -1).to(device);
    return {at::cos(emb), at::sin(emb)};
  }

  // Qwen2.5's windows: merged blocks grouped into windows of window / merge / patch blocks a side
  // (row-major per frame, the last ones cut short); returns the block order and, in `bounds`, the
  // windows' row boundaries.
  at::Tensor window_order(const std::vector<std::array<int64_t, 3>>& grids, std::vector<int64_t>& bounds) const {
    const int64_t side = q_.window / q_.merge / q_.patch, unit = q_.merge * q_.merge;
    AM_CHECK(side > 0, "Qwen2.5-VL: window_size {} is smaller than a merged block", q_.window);
    std::vector<int64_t> order;
    bounds = {0};
    int64_t base = 0;
    for (const auto& [t, gh, gw] : grids) {
      const int64_t lh = gh / q_.merge, lw = gw / q_.merge;
      for (int64_t f = 0; f < t; ++f)
        for (int64_t wy = 0; wy * side < lh; ++wy)
          for (int64_t wx = 0; wx * side < lw; ++wx) {
            int64_t count = 0;
            for (int64_t y = wy * side; y < std::min(lh, (wy + 1) * side); ++y)
              for (int64_t x = wx * side; x < std::min(lw, (wx + 1) * side); ++x, ++count)
                order.push_back(base + f * lh * lw + y * lw + x);
            bounds.push_back(bounds.back() + count * unit);
          }
      base += t * lh * lw;
    }
    return at::tensor(order, at::kLong);
  }

  QwenVisionConfig q_;
  at::Tensor* patch_;
  Slot<ModuleList<VisionBlock>> blocks_;
  Slot<PatchMerger> merger_;
};

class QwenVl : public VisionLanguageModel {
 public:
  QwenVl(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o, bool v2_5)
      : VisionLanguageModel(lm_config, std::move(lm)) {
    auto c = hf::JsonFields(config_.composite->json, wrapper_label());
    image_token_id_ = c.get_int("image_token_id", 151655);
    AM_CHECK(c.has("vision_config"), "{}: a {} config needs a vision_config", wrapper_label(), config_.composite->model_type);
    vision_ = parse_qwen_vision(c.child("vision_config"), v2_5, hidden_size());
    tower_ = add_part("visual", VlmPart::kVisionTower, std::make_unique<QwenVisionTower>(vision_, o));
  }

 protected:
  at::Tensor image_features(const ModelInputs& inputs, NamedTensors* debug) const override {
    auto features = tower_->forward(inputs.pixel_values, grids_of(inputs.image_grid_thw));
    if (debug) debug->emplace_back("image_hidden_states", features);
    return features;
  }

  // M-RoPE positions: text tokens advance all three axes together; an image's tokens take
  // (frame, row, column) of its merged grid after the text before it, and the text after it
  // continues from their largest position + 1.
  void add_image_inputs(ModelInputs& inputs, const ForwardOptions& options) override {
    const auto grids = grids_of(inputs.image_grid_thw);
    auto ids = inputs.input_ids.to(at::kCPU, at::kLong).contiguous();
    const int64_t B = ids.size(0), T = ids.size(1);
    std::vector<int64_t> pos(static_cast<size_t>(3 * B * T));
    const auto* id = ids.data_ptr<int64_t>();
    size_t image = 0;
    for (int64_t b = 0; b < B; ++b) {
      int64_t next = 0;
      for (int64_t t = 0; t < T;) {
        auto at = [&](int64_t axis, int64_t tt) -> int64_t& { return pos[static_cast<size_t>((axis * B + b) * T + tt)]; };
        if (id[b * T + t] != image_token_id_) {
          for (int64_t axis = 0; axis < 3; ++axis) at(axis, t) = next;
          ++next, ++t;
          continue;
        }
        AM_CHECK(image < grids.size(), "Qwen2-VL: more image-token runs than image_grid_thw rows ({})", grids.size());
        const auto [gt, gh, gw] = grids[image++];
        const int64_t lh = gh / vision_.merge, lw = gw / vision_.merge, tokens = gt * lh * lw;
        AM_CHECK(t + tokens <= T, "Qwen2-VL: image {} needs {} tokens, the row has {} left", image - 1, tokens, T - t);
        int64_t largest = next;
        for (int64_t f = 0; f < gt; ++f)
          for (int64_t y = 0; y < lh; ++y)
            for (int64_t x = 0; x < lw; ++x, ++t) {
              at(0, t) = next + f;
              at(1, t) = next + y;
              at(2, t) = next + x;
              largest = std::max({largest, next + f, next + y, next + x});
            }
        next = largest + 1;
      }
    }
    inputs.rope_position_ids = at::tensor(pos, at::kLong).view({3, B, T}).to(inputs.input_ids.device());
    // A prompt that generation continues: its next token sits at the largest position + 1, not at T.
    if (options.cache && options.cache->length() == 0)
      rope_delta_ = *std::max_element(pos.begin(), pos.end()) + 1 - T;
  }

  // Text after a prompt with images (generation): its positions shifted by the images' saving.
  void add_text_inputs(ModelInputs& inputs, const ForwardOptions& options) override {
    if (!options.cache) return;
    if (options.cache->length() == 0) rope_delta_ = 0;  // a new prompt without images
    if (rope_delta_ == 0) return;
    auto positions = (inputs.position_ids.defined() ? inputs.position_ids
                                                    : default_position_ids(inputs.input_ids, options.cache)) +
                     rope_delta_;
    inputs.rope_position_ids = positions.unsqueeze(0).expand({3, -1, -1}).contiguous();
  }

 private:
  QwenVisionConfig vision_;
  Slot<QwenVisionTower> tower_;
  int64_t rope_delta_ = 0;  // of the prompt being generated from (batch 1)
};

VisionLanguageArchitecture qwen_vl_architecture(bool v2_5) {
  VisionLanguageArchitecture arch;
  arch.model_type = v2_5 ? "qwen2_5_vl" : "qwen2_vl";
  arch.hf_class = v2_5 ? "Qwen2_5_VLForConditionalGeneration" : "Qwen2VLForConditionalGeneration";
  arch.features = v2_5 ? "ViT with RMSNorm, SwiGLU and window attention (full attention on fullatt_block_indexes), "
                         "2-D vision rope, 2x2 patch merger, M-RoPE in the Qwen2 language model"
                       : "ViT over patch rows with 2-D vision rope and per-frame attention, 2x2 patch merger, M-RoPE "
                         "in the Qwen2 language model";
  arch.build = [v2_5](const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      -> std::unique_ptr<CausalLM> { return std::make_unique<QwenVl>(lm_config, std::move(lm), o, v2_5); };
  return arch;
}

}  // namespace

VisionLanguageArchitecture qwen2_vl_architecture() { return qwen_vl_architecture(false); }
VisionLanguageArchitecture qwen2_5_vl_architecture() { return qwen_vl_architecture(true); }

}  // namespace automodel::models
