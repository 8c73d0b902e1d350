// The feed-forward blocks of decoder layers, with HF parameter names: gated (SwiGLU/GeGLU, split
// or fused gate_up projections) and plain two-layer MLPs. Parents hold them as Slot<Mlp>.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>

#include "automodel/models/common/layers.h"
#include "automodel/models/common/module.h"

namespace automodel::models {

// An MLP's weights when it is bias-free and unscaled with every projection a dense Linear (nothing
// installed in its place, e.g. no adapter): a bank of such experts runs as grouped products.
// Gated: gate and up, or gate_up fused; plain: up.
struct DenseMlpWeights {
  at::Tensor gate, up, gate_up, down;
  Activation act;
};

class Mlp : public Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) const = 0;  // (..., hidden) -> (..., hidden)
  virtual std::optional<DenseMlpWeights> dense_weights() const { return std::nullopt; }
};

// Names of the projections: gate/up/down for gated MLPs (Mixtral's experts: w1/w3/w2), `fused`
// for a gated MLP whose gate and up are one matrix [gate | up] (Phi-3, GLM-4), up/down for plain
// ones (StarCoder2's c_fc/c_proj, Phi's fc1/fc2).
struct MlpNames {
  std::string gate = "gate_proj", up = "up_proj", down = "down_proj", fused;
};

struct MlpSpec {
  enum class Kind { kGated, kPlain } kind = Kind::kGated;
  MlpNames names;
  Activation act = Activation::kSilu;
  bool bias = false;
  double gate_scale = 1.0, output_scale = 1.0;  // gated: act(gate(x) x this), down(...) x this (Falcon-H1's muP)
};

// act(gate(x)) * up(x) -> down
class GatedMlp : public Mlp {
 public:
  GatedMlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const override;
  std::optional<DenseMlpWeights> dense_weights() const override;

 private:
  Activation act_;
  double gate_scale_, output_scale_;
  Slot<LinearLayer> gate_, up_, down_, gate_up_;
};

// down(act(up(x)))
class PlainMlp : public Mlp {
 public:
  PlainMlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const override;
  std::optional<DenseMlpWeights> dense_weights() const override;

 private:
  Activation act_;
  Slot<LinearLayer> up_, down_;
};

std::unique_ptr<Mlp> make_mlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec,
                              const at::TensorOptions& options);

}  // namespace automodel::models
