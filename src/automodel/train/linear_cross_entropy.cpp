#include "automodel/train/linear_cross_entropy.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "automodel/common/error.h"
#include "automodel/models/common/causal_lm.h"

namespace automodel::train {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Inputs are the supervised rows only: hidden (N, H), targets (N).
struct LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& targets, int64_t chunk, double scale,
                            double softcap) {
    bool need_hidden = hidden.requires_grad(), need_weight = weight.requires_grad();
    // No bias is passed as an empty tensor (an autograd Function's inputs must be defined).
    const bool has_bias = bias.numel() > 0, need_bias = has_bias && bias.requires_grad();
    const int64_t n = hidden.size(0);
    auto w = weight.to(hidden.scalar_type());
    auto total = at::zeros({}, hidden.options().dtype(at::kFloat));
    at::Tensor grad_hidden = need_hidden ? at::empty_like(hidden) : at::Tensor();
    at::Tensor grad_weight = need_weight ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor();
    at::Tensor grad_bias = need_bias ? at::zeros(bias.sizes(), bias.options().dtype(at::kFloat)) : at::Tensor();
    auto b = has_bias ? bias.to(at::kFloat) : at::Tensor();
    for (int64_t start = 0; start < n; start += chunk) {
      int64_t len = std::min(chunk, n - start);
      auto h = hidden.narrow(0, start, len);
      auto t = targets.narrow(0, start, len);
      auto logits = at::mm(h, w.t()).to(at::kFloat);                 // (len, V)
      if (b.defined()) logits.add_(b);
      if (scale != 1.0) logits.mul_(scale);
      // d logits / d raw = scale * (1 - tanh^2): kept as `slope` for the gradient below.
      at::Tensor slope;
      if (softcap > 0) {
        logits.div_(softcap).tanh_();
        if (need_hidden || need_weight) slope = (1 - logits * logits).mul_(scale);
        logits.mul_(softcap);
      }
      auto lse = at::logsumexp(logits, 1, /*keepdim=*/true);        // (len, 1)
      auto picked = logits.gather(1, t.unsqueeze(1));               // (len, 1)
      total.add_((lse - picked).sum());
      if (!need_hidden && !need_weight && !need_bias) continue;
      // d(sum CE)/d logits = softmax - onehot, formed in place over the logits buffer.
      auto grad_logits = logits.sub_(lse).exp_();
      grad_logits.scatter_add_(1, t.unsqueeze(1), at::full({len, 1}, -1.0, grad_logits.options()));
      if (slope.defined())
        grad_logits.mul_(slope);
      else if (scale != 1.0)
        grad_logits.mul_(scale);
      auto g = grad_logits.to(hidden.scalar_type());
      if (need_hidden) grad_hidden.narrow(0, start, len).copy_(at::mm(g, w));
      if (need_weight) grad_weight.add_(at::mm(g.t(), h).to(at::kFloat));
      if (need_bias) grad_bias.add_(grad_logits.sum(0));
    }
    ctx->save_for_backward({grad_hidden, grad_weight, grad_bias});
    ctx->saved_data["weight_dtype"] = static_cast<int64_t>(weight.scalar_type());
    ctx->saved_data["bias_dtype"] = static_cast<int64_t>(bias.scalar_type());
    return total;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto saved = ctx->get_saved_variables();
    auto scale = grad_output[0];
    at::Tensor gh = saved[0].defined() ? saved[0] * scale.to(saved[0].scalar_type()) : at::Tensor();
    at::Tensor gw;
    if (saved[1].defined())
      gw = (saved[1] * scale).to(static_cast<at::ScalarType>(ctx->saved_data["weight_dtype"].toInt()));
    at::Tensor gb;
    if (saved[2].defined()) gb = (saved[2] * scale).to(static_cast<at::ScalarType>(ctx->saved_data["bias_dtype"].toInt()));
    return {gh, gw, gb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

int64_t default_chunk_tokens(int64_t vocab_size) {
  return std::max<int64_t>(16, (int64_t{16} << 20) / std::max<int64_t>(vocab_size, 1));
}

at::Tensor linear_cross_entropy_sum(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                    int64_t chunk_tokens) {
  return linear_cross_entropy_sum(hidden, models::OutputHead{weight}, targets, chunk_tokens);
}

at::Tensor linear_cross_entropy_sum(const at::Tensor& hidden, const models::OutputHead& head,
                                    const at::Tensor& targets, int64_t chunk_tokens) {
  const auto& weight = head.weight;
  AM_CHECK(hidden.size(-1) == weight.size(1), "[loss] hidden size {} does not match the output weight {}",
           hidden.size(-1), weight.size(1));
  auto flat_targets = targets.reshape({-1}).to(at::kLong);
  auto rows = at::nonzero(flat_targets != -100).squeeze(1);
  if (rows.numel() == 0) return (hidden.sum() * 0).to(at::kFloat);  // keeps the graph, adds nothing
  auto h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows);
  auto t = flat_targets.index_select(0, rows);
  auto vocab = weight.size(0);
  // Checked on CPU only: on a GPU it would sync every step.
  AM_CHECK(!t.device().is_cpu() || (t.max().item<int64_t>() < vocab && t.min().item<int64_t>() >= 0),
           "[loss] a target id is outside the vocabulary (0..{})", vocab - 1);
  auto bias = head.bias.defined() ? head.bias : at::empty({0}, weight.options());
  return LinearCrossEntropy::apply(h, weight, bias, t,
                                   chunk_tokens > 0 ? chunk_tokens : default_chunk_tokens(vocab), head.scale,
                                   head.softcap);
}

}  // namespace automodel::train
