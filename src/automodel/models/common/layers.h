// Basic layers with HF parameter names: Linear, GPT-2's Conv1D, Embedding, RMSNorm, LayerNorm,
// and the activation functions HF configs name.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>

#include "automodel/models/common/module.h"

namespace automodel::models {

// What a parent needs of a linear map: the dense Linear, and whatever replace_module() installs
// in its place (peft/ adapter wrappers, later parallel or quantized variants). Parents hold their
// linear children as Slot<LinearLayer>.
class LinearLayer : public Module {
 public:
  LinearLayer(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  virtual at::Tensor forward(const at::Tensor& x) const = 0;  // (..., in) -> (..., out)
  // The weight this layer applies, stored under "<module>.weight" (a wrapper's is its base's):
  // (out, in), or (in, out) when fan_in_fan_out() (GPT-2's Conv1D; PEFT's name for that layout).
  virtual const at::Tensor& weight() const = 0;
  virtual bool fan_in_fan_out() const { return false; }
  // Its (out) bias, undefined when it has none.
  virtual at::Tensor bias() const = 0;
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

 private:
  int64_t in_features_, out_features_;
};

// y = x W^T + b; weight (out, in), as torch.nn.Linear.
class Linear : public LinearLayer {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const override;  // (..., in) -> (..., out)
  at::Tensor& weight() { return *weight_; }
  const at::Tensor& weight() const override { return *weight_; }
  at::Tensor bias() const override { return bias_ ? *bias_ : at::Tensor(); }

 private:
  at::Tensor* weight_;
  at::Tensor* bias_ = nullptr;
};

// GPT-2's Conv1D: y = x W + b with weight stored (in, out).
class Conv1D : public LinearLayer {
 public:
  Conv1D(int64_t in_features, int64_t out_features, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const override;
  const at::Tensor& weight() const override { return *weight_; }  // (in, out)
  at::Tensor bias() const override { return *bias_; }
  bool fan_in_fan_out() const override { return true; }

 private:
  at::Tensor* weight_;
  at::Tensor* bias_;
};

// torch.nn.Embedding; the row `padding_idx` (when set) gets no gradient, as in HF's decoders,
// which pass config.pad_token_id.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, const at::TensorOptions& options,
            std::optional<int64_t> padding_idx = std::nullopt);
  at::Tensor forward(const at::Tensor& ids) const;  // (B, T) -> (B, T, dim)
  at::Tensor& weight() { return *weight_; }

 private:
  at::Tensor* weight_;
  int64_t padding_idx_ = -1;
};

// What a parent needs of a normalisation layer: RMSNorm, LayerNorm (parents hold Slot<Norm>).
class Norm : public Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) const = 0;  // (..., dim) -> (..., dim)
  // Scales by (1 + w): its weight is 0, not 1, where it leaves the normalised input unchanged.
  virtual bool unit_offset() const = 0;
};

// RMSNorm computed in fp32, cast to the input dtype, then scaled (Llama). `unit_offset`: Gemma's
// (1 + w) scaling; it and `scale_in_fp32` (OLMo-2, Helium) scale in fp32 before the cast.
class RMSNorm : public Norm {
 public:
  RMSNorm(int64_t dim, double eps, bool unit_offset, const at::TensorOptions& options, bool scale_in_fp32 = false);
  at::Tensor forward(const at::Tensor& x) const override;
  bool unit_offset() const override { return unit_offset_; }

 private:
  double eps_;
  bool unit_offset_, scale_in_fp32_;
  at::Tensor* weight_;
};

// torch.nn.LayerNorm; `weight`/`bias` false: that parameter is absent (OLMo's non-parametric
// norm, Cohere's bias-free one); `unit_offset`: Nemotron's LayerNorm1P, scaled by (1 + w).
struct LayerNormOptions {
  bool weight = true, bias = true, unit_offset = false;
};

class LayerNorm : public Norm {
 public:
  LayerNorm(int64_t dim, double eps, const at::TensorOptions& options, LayerNormOptions layout = {});
  at::Tensor forward(const at::Tensor& x) const override;
  bool unit_offset() const override { return unit_offset_; }

 private:
  int64_t dim_;
  double eps_;
  bool unit_offset_;
  at::Tensor* weight_ = nullptr;
  at::Tensor* bias_ = nullptr;
};

// Which normalisation a model uses and how, as read from its config: one description builds
// every norm of a layer (make_norm), so a model cannot mix kinds by accident.
struct NormSpec {
  enum class Kind { kRms, kLayerNorm } kind = Kind::kRms;
  double eps = 1e-6;
  bool unit_offset = false;  // scale by (1 + w)
  bool scale_in_fp32 = false;   // kRms: scale before casting back to the input dtype
  LayerNormOptions layer_norm;  // kLayerNorm only
};
std::unique_ptr<Norm> make_norm(const NormSpec& spec, int64_t dim, const at::TensorOptions& options);

enum class Activation { kSilu, kGeluExact, kGeluTanh, kRelu, kQuickGelu, kRelu2 };
// x / sqrt(mean(x^2) + eps) over the last dim, in fp32: RMS normalisation before any weight (the
// weightless norms of Gemma 4, Llama 4's q/k, gated norms of linear-attention and SSM layers).
at::Tensor rms_normalized_fp32(const at::Tensor& x, double eps);

// HF ACT2FN names: silu/swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, quick_gelu, relu2.
Activation parse_activation(const std::string& name, const std::string& where);
at::Tensor activate(Activation act, const at::Tensor& x);
// grad x activate'(x): the backward of activate, for code that differentiates by hand.
at::Tensor activation_backward(Activation act, const at::Tensor& grad, const at::Tensor& x);

}  // namespace automodel::models
