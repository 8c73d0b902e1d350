#include "automodel/models/common/mlp.h"

#include <ATen/TensorOperators.h>

namespace automodel::models {

namespace {
std::unique_ptr<LinearLayer> linear(int64_t in, int64_t out, bool bias, const at::TensorOptions& options) {
  return std::make_unique<Linear>(in, out, bias, options);
}

// The weight of a bias-free dense Linear in this slot; undefined for an empty slot, nullopt when
// something else (an adapter) sits there or it has a bias.
std::optional<at::Tensor> dense_weight(const LinearLayer* layer) {
  if (layer == nullptr) return at::Tensor();
  const auto* dense = dynamic_cast<const Linear*>(layer);
  if (dense == nullptr || dense->bias().defined()) return std::nullopt;
  return dense->weight();
}
}  // namespace

GatedMlp::GatedMlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec, const at::TensorOptions& options)
    : act_(spec.act), gate_scale_(spec.gate_scale), output_scale_(spec.output_scale) {
  const auto& n = spec.names;
  if (n.fused.empty()) {
    gate_ = add_module(n.gate, linear(hidden, intermediate, spec.bias, options));
    up_ = add_module(n.up, linear(hidden, intermediate, spec.bias, options));
  } else {
    gate_up_ = add_module(n.fused, linear(hidden, 2 * intermediate, spec.bias, options));
  }
  down_ = add_module(n.down, linear(intermediate, hidden, spec.bias, options));
}

at::Tensor GatedMlp::forward(const at::Tensor& x) const {
  auto scaled = [](const at::Tensor& t, double scale) { return scale == 1.0 ? t : t * scale; };
  at::Tensor gate, up;
  if (gate_up_) {
    auto gate_up = gate_up_->forward(x).chunk(2, -1);  // [gate | up]
    gate = gate_up[0], up = gate_up[1];
  } else {
    gate = gate_->forward(x), up = up_->forward(x);
  }
  return scaled(down_->forward(activate(act_, scaled(gate, gate_scale_)) * up), output_scale_);
}

std::optional<DenseMlpWeights> GatedMlp::dense_weights() const {
  auto gate = dense_weight(gate_.get()), up = dense_weight(up_.get()), gate_up = dense_weight(gate_up_.get()),
       down = dense_weight(down_.get());
  if (!gate || !up || !gate_up || !down || gate_scale_ != 1.0 || output_scale_ != 1.0) return std::nullopt;
  return DenseMlpWeights{*gate, *up, *gate_up, *down, act_};
}

PlainMlp::PlainMlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec, const at::TensorOptions& options)
    : act_(spec.act) {
  up_ = add_module(spec.names.up, linear(hidden, intermediate, spec.bias, options));
  down_ = add_module(spec.names.down, linear(intermediate, hidden, spec.bias, options));
}

at::Tensor PlainMlp::forward(const at::Tensor& x) const { return down_->forward(activate(act_, up_->forward(x))); }

std::optional<DenseMlpWeights> PlainMlp::dense_weights() const {
  auto up = dense_weight(up_.get()), down = dense_weight(down_.get());
  if (!up || !down) return std::nullopt;
  return DenseMlpWeights{{}, *up, {}, *down, act_};
}

std::unique_ptr<Mlp> make_mlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec,
                              const at::TensorOptions& options) {
  if (spec.kind == MlpSpec::Kind::kPlain) return std::make_unique<PlainMlp>(hidden, intermediate, spec, options);
  return std::make_unique<GatedMlp>(hidden, intermediate, spec, options);
}

}  // namespace automodel::models
