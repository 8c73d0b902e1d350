#include "automodel/models/common/mlp.h"

#include <ATen/TensorOperators.h>

namespace automodel::models {

namespace {
std::unique_ptr<LinearLayer> linear(int64_t in, int64_t out, bool bias, const at::TensorOptions& options) {
  return std::make_unique<Linear>(in, out, bias, options);
}
}  // namespace

GatedMlp::GatedMlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec, const at::TensorOptions& options)
    : act_(spec.act) {
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
  if (gate_up_) {
    auto gate_up = gate_up_->forward(x).chunk(2, -1);  // [gate | up]
    return down_->forward(activate(act_, gate_up[0]) * gate_up[1]);
  }
  return down_->forward(activate(act_, gate_->forward(x)) * up_->forward(x));
}

PlainMlp::PlainMlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec, const at::TensorOptions& options)
    : act_(spec.act) {
  up_ = add_module(spec.names.up, linear(hidden, intermediate, spec.bias, options));
  down_ = add_module(spec.names.down, linear(intermediate, hidden, spec.bias, options));
}

at::Tensor PlainMlp::forward(const at::Tensor& x) const { return down_->forward(activate(act_, up_->forward(x))); }

std::unique_ptr<Mlp> make_mlp(int64_t hidden, int64_t intermediate, const MlpSpec& spec,
                              const at::TensorOptions& options) {
  if (spec.kind == MlpSpec::Kind::kPlain) return std::make_unique<PlainMlp>(hidden, intermediate, spec, options);
  return std::make_unique<GatedMlp>(hidden, intermediate, spec, options);
}

}  // namespace automodel::models
