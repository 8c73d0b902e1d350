#include "automodel/models/vision/vision_tower.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/bucketize.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/softmax.h>

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"

namespace automodel::models {
namespace {

std::unique_ptr<Linear> linear(int64_t in, int64_t out, const at::TensorOptions& o) {
  return std::make_unique<Linear>(in, out, /*bias=*/true, o);
}

// Softmax attention of q over k/v, each (B, T, D) split into heads; the scale multiplies the
// scores (eager attention) or the queries first (torch's MultiheadAttention) as the caller says.
at::Tensor attend(at::Tensor q, const at::Tensor& k, const at::Tensor& v, int64_t heads, bool scale_queries) {
  const int64_t B = q.size(0), Tq = q.size(1), Tk = k.size(1), D = q.size(2), hd = D / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  auto split = [&](const at::Tensor& t, int64_t T) { return t.view({B, T, heads, hd}).transpose(1, 2); };
  auto qh = split(q, Tq), kh = split(k, Tk), vh = split(v, Tk);
  auto scores = scale_queries ? at::matmul(qh * scale, kh.transpose(-1, -2)) : at::matmul(qh, kh.transpose(-1, -2)) * scale;
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, vh).transpose(1, 2).reshape({B, Tq, D});
}

class Attention : public Module {
 public:
  Attention(int64_t D, int64_t heads, const at::TensorOptions& o) : heads_(heads) {
    k_ = add_module("k_proj", linear(D, D, o));
    v_ = add_module("v_proj", linear(D, D, o));
    q_ = add_module("q_proj", linear(D, D, o));
    out_ = add_module("out_proj", linear(D, D, o));
  }
  at::Tensor forward(const at::Tensor& x) const {
    return out_->forward(attend(q_->forward(x), k_->forward(x), v_->forward(x), heads_, false));
  }

 private:
  int64_t heads_;
  Slot<Linear> q_, k_, v_, out_;
};

class Mlp : public Module {
 public:
  Mlp(int64_t D, int64_t I, Activation act, const at::TensorOptions& o) : act_(act) {
    fc1_ = add_module("fc1", linear(D, I, o));
    fc2_ = add_module("fc2", linear(I, D, o));
  }
  at::Tensor forward(const at::Tensor& x) const { return fc2_->forward(activate(act_, fc1_->forward(x))); }

 private:
  Activation act_;
  Slot<Linear> fc1_, fc2_;
};

class EncoderLayer : public Module {
 public:
  EncoderLayer(const VisionTowerConfig& c, const at::TensorOptions& o) {
    ln1_ = add_module("layer_norm1", std::make_unique<LayerNorm>(c.hidden_size, c.eps, o));
    attn_ = add_module("self_attn", std::make_unique<Attention>(c.hidden_size, c.num_heads, o));
    ln2_ = add_module("layer_norm2", std::make_unique<LayerNorm>(c.hidden_size, c.eps, o));
    mlp_ = add_module("mlp", std::make_unique<Mlp>(c.hidden_size, c.intermediate_size, c.act, o));
  }
  at::Tensor forward(const at::Tensor& x) const {
    auto h = x + attn_->forward(ln1_->forward(x));
    return h + mlp_->forward(ln2_->forward(h));
  }

 private:
  Slot<LayerNorm> ln1_, ln2_;
  Slot<Attention> attn_;
  Slot<Mlp> mlp_;
};

// Patches by a strided convolution, plus learned positions (and CLIP's class token in front).
class Embeddings : public Module {
 public:
  Embeddings(const VisionTowerConfig& c, const at::TensorOptions& o) : c_(c) {
    const bool clip = c.kind == VisionTowerConfig::Kind::kClip;
    if (clip) class_embedding_ = add_parameter("class_embedding", at::empty({c.hidden_size}, o));
    patch_weight_ = add_parameter("patch_embedding.weight",
                                  at::empty({c.hidden_size, c.num_channels, c.patch_size, c.patch_size}, o));
    if (!clip) patch_bias_ = add_parameter("patch_embedding.bias", at::empty({c.hidden_size}, o));
    position_ = add_parameter("position_embedding.weight", at::empty({c.num_patches() + (clip ? 1 : 0), c.hidden_size}, o));
  }
  at::Tensor forward(const at::Tensor& pixels) const {
    auto bias = patch_bias_ ? *patch_bias_ : at::Tensor();
    auto patches = at::conv2d(pixels.to(patch_weight_->scalar_type()), *patch_weight_, bias, {c_.patch_size, c_.patch_size})
                       .flatten(2)
                       .transpose(1, 2);  // (B, N, D)
    if (class_embedding_)
      patches = at::cat({class_embedding_->view({1, 1, -1}).expand({patches.size(0), 1, -1}), patches}, 1);
    if (c_.bucketed_positions)
      return patches + position_->index_select(0, bucketed_position_ids(c_.image_size / c_.patch_size,
                                                                         pixels.size(2) / c_.patch_size,
                                                                         pixels.size(3) / c_.patch_size,
                                                                         position_->scalar_type(), position_->device()));
    return patches + *position_;
  }

 private:
  VisionTowerConfig c_;
  at::Tensor *class_embedding_ = nullptr, *patch_weight_ = nullptr, *patch_bias_ = nullptr, *position_ = nullptr;
};

// SigLIP's head: a learned probe attends over the tokens (torch's MultiheadAttention, q/k/v in one
// in_proj), then a residual MLP after a LayerNorm; the probe's output is the pooled vector.
class AttentionPoolingHead : public Module {
 public:
  AttentionPoolingHead(const VisionTowerConfig& c, const at::TensorOptions& o) : heads_(c.num_heads) {
    const int64_t D = c.hidden_size;
    probe_ = add_parameter("probe", at::empty({1, 1, D}, o));
    in_proj_weight_ = add_parameter("attention.in_proj_weight", at::empty({3 * D, D}, o));
    in_proj_bias_ = add_parameter("attention.in_proj_bias", at::empty({3 * D}, o));
    out_proj_ = add_module("attention.out_proj", linear(D, D, o));
    layernorm_ = add_module("layernorm", std::make_unique<LayerNorm>(D, c.eps, o));
    mlp_ = add_module("mlp", std::make_unique<Mlp>(D, c.intermediate_size, c.act, o));
  }
  at::Tensor forward(const at::Tensor& h) const {
    auto w = in_proj_weight_->chunk(3, 0);
    auto b = in_proj_bias_->chunk(3, 0);
    auto probe = probe_->expand({h.size(0), 1, -1});
    auto pooled = out_proj_->forward(
        attend(at::linear(probe, w[0], b[0]), at::linear(h, w[1], b[1]), at::linear(h, w[2], b[2]), heads_, true));
    pooled = pooled + mlp_->forward(layernorm_->forward(pooled));
    return pooled.select(1, 0);
  }

 private:
  int64_t heads_;
  at::Tensor *probe_, *in_proj_weight_, *in_proj_bias_;
  Slot<Linear> out_proj_;
  Slot<LayerNorm> layernorm_;
  Slot<Mlp> mlp_;
};

}  // namespace

at::Tensor bucketed_position_ids(int64_t grid, int64_t h, int64_t w, at::ScalarType dtype, c10::Device device) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const auto boundaries = at::arange(1.0 / static_cast<double>(grid), 1.0, 1.0 / static_cast<double>(grid), f32);
  const auto buckets = [&](int64_t n) {
    const float step = 1.0f / static_cast<float>(n);
    const auto fractions = (at::arange(n, f32) * step).clamp_max(1.0 - 1e-6).to(dtype);
    return at::bucketize(fractions, boundaries, /*out_int32=*/false, /*right=*/true);
  };
  return (buckets(h).unsqueeze(1) * grid + buckets(w).unsqueeze(0)).flatten();
}

struct VisionTower::Parts {
  Slot<Embeddings> embeddings;
  Slot<LayerNorm> pre_layrnorm, post_layernorm;  // HF's spelling ("pre_layrnorm") for CLIP
  Slot<ModuleList<EncoderLayer>> layers;
  Slot<AttentionPoolingHead> head;
};

VisionTowerConfig parse_vision_config(const nlohmann::json& j, const std::string& where) {
  AM_CHECK(j.is_object(), "{}: expected a JSON object", where);
  VisionTowerConfig c;
  const auto type = j.value("model_type", std::string());
  const bool idefics = type == "idefics3_vision" || type == "smolvlm_vision";
  AM_CHECK(type == "clip_vision_model" || type == "siglip_vision_model" || idefics,
           "{}: model_type '{}' is not a supported vision tower (clip_vision_model, siglip_vision_model, "
           "idefics3_vision, smolvlm_vision)", where, type);
  c.kind = type == "clip_vision_model" ? VisionTowerConfig::Kind::kClip : VisionTowerConfig::Kind::kSiglip;
  c.bucketed_positions = idefics;
  const auto positive = [&](const char* key, int64_t fallback) {
    if (!j.contains(key)) return fallback;
    AM_CHECK(j[key].is_number_integer() && j[key].get<int64_t>() > 0, "{}: {}: expected a positive integer, found {}",
             where, key, j[key].dump());
    return j[key].get<int64_t>();
  };
  const bool clip = c.kind == VisionTowerConfig::Kind::kClip;
  // Class defaults: CLIP's and SigLIP's are ViT-B's; Idefics3VisionConfig's are SigLIP-so400m's.
  c.hidden_size = positive("hidden_size", idefics ? 1152 : 768);
  c.intermediate_size = positive("intermediate_size", 3072);
  c.num_heads = positive("num_attention_heads", idefics ? 16 : 12);
  c.num_layers = positive("num_hidden_layers", 12);
  c.patch_size = positive("patch_size", clip || idefics ? 32 : 16);
  c.image_size = positive("image_size", 224);
  c.num_channels = positive("num_channels", 3);
  c.eps = j.value("layer_norm_eps", clip ? 1e-5 : 1e-6);
  AM_CHECK(c.eps > 0, "{}: layer_norm_eps must be positive, found {}", where, c.eps);
  c.act = parse_activation(j.value("hidden_act", std::string(clip ? "quick_gelu" : "gelu_pytorch_tanh")), where + ": hidden_act");
  c.use_head = !clip && !idefics && j.value("vision_use_head", true);
  AM_CHECK(c.hidden_size % c.num_heads == 0, "{}: hidden_size {} is not a multiple of num_attention_heads {}", where,
           c.hidden_size, c.num_heads);
  AM_CHECK(c.image_size % c.patch_size == 0, "{}: image_size {} is not a multiple of patch_size {}", where, c.image_size,
           c.patch_size);
  return c;
}

VisionTower::VisionTower(const VisionTowerConfig& c, const at::TensorOptions& o, const std::string& root)
    : config_(c), parts_(std::make_shared<Parts>()) {
  const bool clip = c.kind == VisionTowerConfig::Kind::kClip;
  parts_->embeddings = add_module(root + "embeddings", std::make_unique<Embeddings>(c, o));
  if (clip) parts_->pre_layrnorm = add_module(root + "pre_layrnorm", std::make_unique<LayerNorm>(c.hidden_size, c.eps, o));
  auto layers = std::make_unique<ModuleList<EncoderLayer>>();
  for (int64_t i = 0; i < c.num_layers; ++i) layers->append(std::make_unique<EncoderLayer>(c, o));
  parts_->layers = add_module(root + "encoder.layers", std::move(layers));
  parts_->post_layernorm = add_module(root + "post_layernorm", std::make_unique<LayerNorm>(c.hidden_size, c.eps, o));
  if (c.use_head) parts_->head = add_module(root + "head", std::make_unique<AttentionPoolingHead>(c, o));
}

VisionOutputs VisionTower::forward(const at::Tensor& pixel_values, int64_t layers) const {
  const auto fits = [&](int64_t side) {
    return config_.bucketed_positions ? side > 0 && side % config_.patch_size == 0 : side == config_.image_size;
  };
  AM_CHECK(pixel_values.dim() == 4 && pixel_values.size(1) == config_.num_channels && fits(pixel_values.size(2)) &&
               fits(pixel_values.size(3)),
           "vision tower: pixel_values must be (batch, {}, {}, {}), found {}", config_.num_channels,
           config_.bucketed_positions ? "a multiple of " + std::to_string(config_.patch_size) : std::to_string(config_.image_size),
           config_.bucketed_positions ? "a multiple of " + std::to_string(config_.patch_size) : std::to_string(config_.image_size),
           format_shape(pixel_values.sizes().vec()));
  VisionOutputs out;
  auto h = parts_->embeddings->forward(pixel_values);
  if (parts_->pre_layrnorm) h = parts_->pre_layrnorm->forward(h);
  out.hidden_states.push_back(h);
  const auto all = static_cast<int64_t>(parts_->layers->size());
  AM_CHECK(layers <= all, "vision tower: {} layers requested, it has {}", layers, all);
  for (int64_t i = 0; i < (layers < 0 ? all : layers); ++i) {
    h = (*parts_->layers)[static_cast<size_t>(i)].forward(h);
    out.hidden_states.push_back(h);
  }
  if (layers >= 0 && layers < all) return out;
  if (config_.kind == VisionTowerConfig::Kind::kClip) {
    out.last_hidden_state = h;
    out.pooler_output = parts_->post_layernorm->forward(h.select(1, 0));
  } else {
    out.last_hidden_state = parts_->post_layernorm->forward(h);
    if (parts_->head) out.pooler_output = parts_->head->forward(out.last_hidden_state);
  }
  return out;
}

void load_vision_tower(VisionTower& tower, const hf::SafetensorsCheckpoint& checkpoint) {
  const std::string v4 = "vision_model.";
  at::NoGradGuard no_grad;
  std::set<std::string> used;
  for (const auto& p : tower.named_parameters()) {
    std::string key = p.name;
    if (!checkpoint.contains(key) && checkpoint.contains(p.name.substr(v4.size()))) key = p.name.substr(v4.size());
    AM_CHECK(checkpoint.contains(key), "{}: no tensor '{}' (nor '{}'): not a {} vision tower of this config?",
             checkpoint.source().string(), p.name, p.name.substr(v4.size()),
             tower.config().kind == VisionTowerConfig::Kind::kClip ? "CLIP" : "SigLIP");
    auto view = checkpoint.get(key);
    AM_CHECK(view.entry->shape == p.tensor->sizes().vec(), "{}: '{}' has shape {}, the config makes it {}",
             checkpoint.source().string(), key, format_shape(view.entry->shape), format_shape(p.tensor->sizes().vec()));
    copy_view_into(view, *p.tensor);
    used.insert(key);
  }
  for (const auto& name : checkpoint.names())
    AM_CHECK(used.count(name), "{}: unexpected tensor '{}' for this vision tower", checkpoint.source().string(), name);
}

}  // namespace automodel::models
