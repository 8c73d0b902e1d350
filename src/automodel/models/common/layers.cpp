#include "automodel/models/common/layers.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/gelu_backward.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/silu_backward.h>
#include <ATen/ops/threshold_backward.h>
#include <ATen/ops/square.h>

#include "automodel/common/error.h"

namespace automodel::models {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options)
    : LinearLayer(in_features, out_features) {
  weight_ = add_parameter("weight", at::empty({out_features, in_features}, options));
  if (bias) bias_ = add_parameter("bias", at::empty({out_features}, options));
}

at::Tensor Linear::forward(const at::Tensor& x) const {
  return bias_ ? at::linear(x, *weight_, *bias_) : at::linear(x, *weight_);
}

Conv1D::Conv1D(int64_t in_features, int64_t out_features, const at::TensorOptions& options)
    : LinearLayer(in_features, out_features) {
  weight_ = add_parameter("weight", at::empty({in_features, out_features}, options));
  bias_ = add_parameter("bias", at::empty({out_features}, options));
}

at::Tensor Conv1D::forward(const at::Tensor& x) const {
  auto out_shape = x.sizes().vec();
  out_shape.back() = weight_->size(1);
  return at::addmm(*bias_, x.reshape({-1, x.size(-1)}), *weight_).view(out_shape);
}

Embedding::Embedding(int64_t num_embeddings, int64_t dim, const at::TensorOptions& options,
                     std::optional<int64_t> padding_idx)
    : padding_idx_(padding_idx.value_or(-1)) {
  weight_ = add_parameter("weight", at::empty({num_embeddings, dim}, options));
}

at::Tensor Embedding::forward(const at::Tensor& ids) const { return at::embedding(*weight_, ids, padding_idx_); }

RMSNorm::RMSNorm(int64_t dim, double eps, bool unit_offset, const at::TensorOptions& options, bool scale_in_fp32)
    : eps_(eps), unit_offset_(unit_offset), scale_in_fp32_(scale_in_fp32) {
  weight_ = add_parameter("weight", at::empty({dim}, options));
}

at::Tensor rms_normalized_fp32(const at::Tensor& x, double eps) {
  auto xf = x.to(at::kFloat);
  return xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
}

at::Tensor RMSNorm::forward(const at::Tensor& x) const {
  // x: (..., dim) -> (..., dim). Same op order as HF: normalise in fp32, cast, then scale
  // (Llama); Gemma scales by (1 + w) in fp32 before the cast.
  auto normed = rms_normalized_fp32(x, eps_);
  if (unit_offset_) return (normed * (weight_->to(at::kFloat) + 1.0)).to(x.scalar_type());
  if (scale_in_fp32_) return (normed * weight_->to(at::kFloat)).to(x.scalar_type());
  return *weight_ * normed.to(x.scalar_type());
}

LayerNorm::LayerNorm(int64_t dim, double eps, const at::TensorOptions& options, LayerNormOptions layout)
    : dim_(dim), eps_(eps), unit_offset_(layout.unit_offset) {
  if (layout.weight) weight_ = add_parameter("weight", at::empty({dim}, options));
  if (layout.bias) bias_ = add_parameter("bias", at::empty({dim}, options));
}

at::Tensor LayerNorm::forward(const at::Tensor& x) const {
  at::Tensor weight, bias;
  if (weight_) weight = unit_offset_ ? *weight_ + 1.0 : *weight_;
  if (bias_) bias = *bias_;
  return at::layer_norm(x, {dim_}, weight, bias, eps_);
}

std::unique_ptr<Norm> make_norm(const NormSpec& spec, int64_t dim, const at::TensorOptions& options) {
  if (spec.kind == NormSpec::Kind::kRms)
    return std::make_unique<RMSNorm>(dim, spec.eps, spec.unit_offset, options, spec.scale_in_fp32);
  auto layout = spec.layer_norm;
  layout.unit_offset = spec.unit_offset;
  return std::make_unique<LayerNorm>(dim, spec.eps, options, layout);
}

Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu") return Activation::kGeluExact;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::kGeluTanh;
  if (name == "relu") return Activation::kRelu;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "relu2") return Activation::kRelu2;
  throw NotSupportedError(fmt::format(
      "[config] {}: activation '{}' is not supported; supported: silu, swish, gelu, gelu_new, "
      "gelu_pytorch_tanh, gelu_fast, relu, quick_gelu, relu2", where, name));
}

at::Tensor activate(Activation act, const at::Tensor& x) {
  switch (act) {
    case Activation::kSilu: return at::silu(x);
    case Activation::kGeluExact: return at::gelu(x);
    case Activation::kGeluTanh: return at::gelu(x, "tanh");
    case Activation::kRelu: return at::relu(x);
    case Activation::kQuickGelu: return x * at::sigmoid(1.702 * x);
    case Activation::kRelu2: return at::relu(x).square();
  }
  return x;
}

at::Tensor activation_backward(Activation act, const at::Tensor& grad, const at::Tensor& x) {
  switch (act) {
    case Activation::kSilu: return at::silu_backward(grad, x);
    case Activation::kGeluExact: return at::gelu_backward(grad, x);
    case Activation::kGeluTanh: return at::gelu_backward(grad, x, "tanh");
    case Activation::kRelu: return at::threshold_backward(grad, x, 0);
    case Activation::kQuickGelu: {
      auto s = at::sigmoid(1.702 * x);
      return grad * (s + 1.702 * x * s * (1 - s));
    }
    case Activation::kRelu2: return grad * 2 * at::relu(x);
  }
  return grad;
}

}  // namespace automodel::models
