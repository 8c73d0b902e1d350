// Basic layers with HF parameter names: Linear, GPT-2's Conv1D, Embedding, RMSNorm, LayerNorm,
// and the activation functions HF configs name.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "automodel/models/common/module.h"

namespace automodel::models {

class Linear;

// A low-rank update of a Linear (peft/lora.h creates it): delta(x) = scale * B(A(x)), with
// dropout before A ("pre") or on the update ("post"), as AutoModel's LinearLoRA.
struct LoraAdapter {
  Linear* lora_A;  // (rank, in)
  Linear* lora_B;  // (out, rank)
  double scale;    // alpha / rank
  double dropout = 0.0;
  bool dropout_pre = false;
};

// y = x W^T + b (+ LoRA update); weight (out, in), as torch.nn.Linear.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // (..., in) -> (..., out)
  at::Tensor& weight() { return *weight_; }
  const at::Tensor& weight() const { return *weight_; }
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  // Registers lora_A / lora_B children (so their names are PEFT's: "<module>.lora_A.weight").
  void attach_lora(int64_t rank, double alpha, double dropout, bool dropout_pre, const at::TensorOptions& options);
  const LoraAdapter* lora() const { return lora_.lora_A ? &lora_ : nullptr; }
  // W + scale * B A in W's dtype (W itself without an adapter).
  at::Tensor merged_weight() const;

 private:
  int64_t in_features_, out_features_;
  at::Tensor* weight_;
  at::Tensor* bias_ = nullptr;
  LoraAdapter lora_{nullptr, nullptr, 0.0};
};

// GPT-2's Conv1D: y = x W + b with weight stored (in, out).
class Conv1D : public Module {
 public:
  Conv1D(int64_t in_features, int64_t out_features, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor* weight_;
  at::Tensor* bias_;
};

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& ids) const;  // (B, T) -> (B, T, dim)
  at::Tensor& weight() { return *weight_; }

 private:
  at::Tensor* weight_;
};

// RMSNorm computed in fp32. `unit_offset`: Gemma's (1 + w) scaling, applied in fp32.
class RMSNorm : public Module {
 public:
  RMSNorm(int64_t dim, double eps, bool unit_offset, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  double eps_;
  bool unit_offset_;
  at::Tensor* weight_;
};

class LayerNorm : public Module {
 public:
  LayerNorm(int64_t dim, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  int64_t dim_;
  double eps_;
  at::Tensor* weight_;
  at::Tensor* bias_;
};

enum class Activation { kSilu, kGeluExact, kGeluTanh, kRelu, kQuickGelu };
// HF ACT2FN names: silu/swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, quick_gelu.
Activation parse_activation(const std::string& name, const std::string& where);
at::Tensor activate(Activation act, const at::Tensor& x);

}  // namespace automodel::models
